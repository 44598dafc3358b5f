/**
 * How tRPC's HTTP adapter reads a request, for the fast paths in front of it (./json.ts, ./sse.ts): each
 * decides from these whether a request is one it takes, and passes the rest on.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";

/** The media type of a header value, lowercased, without parameters (`application/json; charset=utf-8` -> `application/json`). */
export const mediaType = (value: string | undefined): string | undefined => value?.toLowerCase().split(";", 1)[0]?.trim();

/** Whether tRPC answers as JSON lines (httpBatchStreamLink): its `getAcceptHeader`, `trpc-accept` first, then `accept`. */
export function wantsJsonLines(headers: IncomingHttpHeaders): boolean {
  const accept = headers["trpc-accept"] ?? (headers.accept?.split(",").some((t) => t.trim() === "application/jsonl") ? "application/jsonl" : undefined);
  return accept === "application/jsonl";
}

/** The query parameters of a request URL (relative to where the adapter is mounted). */
export function queryOf(url: string): URLSearchParams {
  const query = url.indexOf("?");
  return new URLSearchParams(query === -1 ? "" : url.slice(query + 1));
}

/** The procedure path(s) of a request URL: its last segment, decoded; undefined when that is not valid URL encoding. */
export function procedurePathOf(url: string): string | undefined {
  const query = url.indexOf("?");
  const pathname = query === -1 ? url : url.slice(0, query);
  try {
    return decodeURIComponent(pathname.slice(pathname.lastIndexOf("/") + 1));
  } catch {
    return undefined;
  }
}

/**
 * The request's abort signal, as tRPC's adapter gives one to procedures: aborted when the client goes
 * away before the response is complete.
 */
export function requestSignal(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once("close", onClose);
  return abort.signal;
}
