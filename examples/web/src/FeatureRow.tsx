import { useState } from "react";
import type { FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { fieldErrorsOf } from "@kuark/features-client";
import type { Feature, FeatureStatus } from "@kuark/features-client";
import { useTRPC } from "@kuark/features-client/react";
import { ErrorNote, FieldMessages } from "./ErrorNote";

export function FeatureRow({ feature }: { feature: Feature }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.features.list.pathKey() });
  const remove = useMutation(trpc.features.delete.mutationOptions({ onSuccess: refresh }));

  if (editing) return <EditRow feature={feature} onDone={() => setEditing(false)} />;
  return (
    <tr aria-label={feature.name}>
      <td>{feature.name}</td>
      <td>{feature.description}</td>
      <td>
        <span className={`status ${feature.status.toLowerCase()}`}>{feature.status}</span>
      </td>
      <td>{new Date(feature.updatedAt).toLocaleString()}</td>
      <td className="actions">
        <button type="button" onClick={() => setEditing(true)}>
          Edit
        </button>
        <button type="button" disabled={remove.isPending} onClick={() => remove.mutate({ id: feature.id })}>
          Delete
        </button>
        <ErrorNote error={remove.error} />
      </td>
    </tr>
  );
}

function EditRow({ feature, onDone }: { feature: Feature; onDone: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState(feature.name);
  const [description, setDescription] = useState(feature.description ?? "");
  const [status, setStatus] = useState<FeatureStatus>(feature.status);
  const update = useMutation(
    trpc.features.update.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.features.list.pathKey() });
        onDone();
      },
    }),
  );
  // Update's input nests the changes under `data`, so its field messages are keyed "data.name" and so on.
  const fieldErrors = fieldErrorsOf(update.error);

  function save(event: FormEvent) {
    event.preventDefault();
    update.mutate({ id: feature.id, data: { name, description: description || null, status } });
  }

  return (
    <tr aria-label={`Editing ${feature.name}`}>
      <td colSpan={5}>
        <form aria-label="Edit feature" onSubmit={save} className="edit">
          <label>
            Name
            <input value={name} onChange={(event) => setName(event.target.value)} />
            <FieldMessages messages={fieldErrors?.["data.name"]} />
          </label>
          <label>
            Description
            <input value={description} onChange={(event) => setDescription(event.target.value)} />
          </label>
          <label>
            Status
            <select value={status} onChange={(event) => setStatus(event.target.value as FeatureStatus)}>
              <option value="ACTIVE">Active</option>
              <option value="INACTIVE">Inactive</option>
            </select>
          </label>
          <button type="submit" disabled={update.isPending}>
            Save
          </button>
          <button type="button" onClick={onDone}>
            Cancel
          </button>
          {!fieldErrors && <ErrorNote error={update.error} />}
        </form>
        <History id={feature.id} />
      </td>
    </tr>
  );
}

/** Who changed this feature, and what each field said before: `features.history`, newest first. */
function History({ id }: { id: string }) {
  const trpc = useTRPC();
  const history = useQuery(trpc.features.history.queryOptions({ id, limit: 20 }));
  return (
    <section aria-label="History" className="history">
      <h3>History</h3>
      <ErrorNote error={history.error} />
      <ol>
        {history.data?.items.map((event) => (
          <li key={event.id}>
            <strong>{event.type}</strong> by {event.actorId}, {new Date(event.createdAt).toLocaleString()}
            {event.type === "updated" && (
              <ul>
                {Object.entries(event.changes).map(([field, { before, after }]) => (
                  <li key={field}>
                    {field}: {JSON.stringify(before)} → {JSON.stringify(after)}
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
