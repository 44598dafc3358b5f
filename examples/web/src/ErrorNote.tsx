import { isKuarkClientError } from "@kuark/features-client";

/** One line for a failed call: the server's code and message (per-field messages are shown by their fields). */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const text = isKuarkClientError(error)
    ? `${error.data?.code ?? "NETWORK_ERROR"}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
  return (
    <p role="alert" className="error">
      {text}
    </p>
  );
}

/** The messages for one input field, e.g. `fieldErrorsOf(error)?.["data.name"]`. */
export function FieldMessages({ messages }: { messages: string[] | undefined }) {
  if (!messages?.length) return null;
  return <span className="field-error">{messages.join("; ")}</span>;
}
