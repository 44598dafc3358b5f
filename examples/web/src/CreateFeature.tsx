import { useState } from "react";
import type { FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { fieldErrorsOf } from "@kuark/features-client";
import type { FeatureStatus } from "@kuark/features-client";
import { useTRPC } from "@kuark/features-client/react";
import { ErrorNote, FieldMessages } from "./ErrorNote";

export function CreateFeature() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [status, setStatus] = useState<FeatureStatus>("ACTIVE");
  const create = useMutation(
    trpc.features.create.mutationOptions({
      onSuccess: async () => {
        setName("");
        setDescription("");
        setStatus("ACTIVE");
        await queryClient.invalidateQueries({ queryKey: trpc.features.list.pathKey() });
      },
    }),
  );
  const fieldErrors = fieldErrorsOf(create.error);

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ name, description: description || null, status });
  }

  return (
    <form aria-label="New feature" onSubmit={submit} className="card">
      <h2>New feature</h2>
      <label>
        Name
        <input value={name} onChange={(event) => setName(event.target.value)} />
        <FieldMessages messages={fieldErrors?.["name"]} />
      </label>
      <label>
        Description
        <input value={description} onChange={(event) => setDescription(event.target.value)} />
        <FieldMessages messages={fieldErrors?.["description"]} />
      </label>
      <label>
        Status
        <select value={status} onChange={(event) => setStatus(event.target.value as FeatureStatus)}>
          <option value="ACTIVE">Active</option>
          <option value="INACTIVE">Inactive</option>
        </select>
      </label>
      <button type="submit" disabled={create.isPending}>
        Create
      </button>
      {!fieldErrors && <ErrorNote error={create.error} />}
    </form>
  );
}
