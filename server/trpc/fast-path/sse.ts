/**
 * The SSE fast path: tRPC subscriptions over Server-Sent Events, written straight to the Node.js response: what tRPC's
 * adapter writes for them, byte for byte (`connected` with the client options, `id:` for tracked events,
 * `ping` on an idle stream, `serialized-error`, `return`), at a fraction of the memory per open stream.
 *
 * Why not tRPC's adapter for them: it serves an SSE stream through a Fetch `Request`, a `Response` and a
 * chain of web streams (the events' ReadableStream, two TransformStreams, the abort wrapper, the
 * WritableStream and three `pipeTo` loops), three async generators deep, with a ping timer and a
 * `Promise.race` per stream. All of that lives as long as the stream: about 60 KB of heap per open
 * stream, the bulk of what an idle subscriber cost (bench/live.ts). Here an open stream is the
 * procedure's async generator, one small object and one `await`, and one timer pings every idle stream.
 *
 * Only a plain subscription call is taken: a GET of one subscription procedure, not batched, not asking
 * for JSON lines, with JSON (or no) content type and well-formed `connectionParams`. Anything else goes
 * on to tRPC's adapter (`next()`), which answers it, errors included, as it always did. The procedure
 * runs exactly as tRPC runs it (its middlewares, input parsing and validation, `lastEventId` merged
 * into the input), and errors get tRPC's error shape (the router's `errorFormatter`) and `onError`.
 * @see https://trpc.io/docs/server/subscriptions
 */
import type { ServerResponse } from "node:http";
import { TRPCError } from "@trpc/server";
import type { AnyTRPCProcedure, AnyTRPCRouter } from "@trpc/server";
import { parseConnectionParamsFromString } from "@trpc/server/http";
import { isObservable, observableToAsyncIterable } from "@trpc/server/observable";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { errorShapeOf, getTRPCErrorFromUnknown, isAbortError, isAsyncIterable, isTrackedEnvelope, procedureAt, sseHeaders } from "./internals.js";
import { mediaType, procedurePathOf, queryOf, wantsJsonLines } from "./request.js";

export interface SseSubscriptionOptions<TContext> {
  router: AnyTRPCRouter;
  /** The same as the tRPC adapter's: one context per request. */
  createContext: (opts: { req: Request; res: Response }) => TContext | Promise<TContext>;
  /** Told of every error a subscription ends with (the adapter's `onError` fits). */
  onError?: ((opts: { error: TRPCError; type: "subscription"; path: string; input: unknown; ctx: TContext | undefined; req: Request }) => void) | undefined;
}

/** tRPC's SSE event framing: each field on its own line, then a blank line (and tRPC's extra newline). */
const PING = "event: ping\ndata: \n\n\n";
const RETURN = "event: return\ndata: \n\n\n";
/** tRPC's response headers for a stream, in the order its `Headers` iterates them (sorted). */
const STREAM_HEADERS: [string, string][] = [...Object.entries({ ...sseHeaders, vary: "trpc-accept, accept" })]
  .map(([key, value]): [string, string] => [key.toLowerCase(), value])
  .sort(([a], [b]) => (a < b ? -1 : 1));

/** One open stream, as the shared ping timer sees it. */
class OpenStream {
  lastWrite = Date.now();
  constructor(readonly res: ServerResponse) {}
  write(text: string): boolean {
    this.lastWrite = Date.now();
    return this.res.write(text);
  }
}

/**
 * One timer for every open stream: a stream that has written nothing for `intervalMs` gets a ping (tRPC
 * runs a timer per stream for that). Checked every second (at most), so a ping comes 0-1 s later than
 * tRPC's would; the client reconnects only after three intervals of silence.
 */
class Pinger {
  private readonly streams = new Set<OpenStream>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly intervalMs: number) {}
  add(stream: OpenStream) {
    this.streams.add(stream);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), Math.min(1_000, this.intervalMs));
      this.timer.unref();
    }
  }
  delete(stream: OpenStream) {
    this.streams.delete(stream);
    if (this.streams.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
  private tick() {
    const due = Date.now() - this.intervalMs;
    // A stream waiting for its client to drain is not idle: it has data on the way.
    for (const stream of this.streams) {
      if (stream.lastWrite <= due && !stream.res.writableNeedDrain && !stream.res.destroyed) stream.write(PING);
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => !!value && !Array.isArray(value) && typeof value === "object";

/** Whether tRPC's adapter accepts these `connectionParams` (JSON, an object of strings or null): its own parser says. */
function connectionParamsValid(value: string): boolean {
  try {
    parseConnectionParamsFromString(value);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `res` can take more (or is gone). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      res.off("error", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
    res.once("error", done);
  });
}

/**
 * Express middleware serving a router's subscriptions over SSE; mount it where tRPC's adapter is
 * mounted, before it.
 */
export function createSseSubscriptionHandler<TContext>(options: SseSubscriptionOptions<TContext>): RequestHandler {
  const { router, createContext, onError } = options;
  const config = router._def._config;
  const sse = config.sse ?? {};
  const pingMs = sse.ping?.enabled && (sse.ping.intervalMs ?? 1_000) > 0 && sse.ping.intervalMs !== Infinity ? (sse.ping.intervalMs ?? 1_000) : undefined;
  const client = sse.client ?? {};
  if (pingMs !== undefined && client.reconnectAfterInactivityMs && pingMs > client.reconnectAfterInactivityMs) {
    throw new Error(`Ping interval must be less than client reconnect interval - ping.intervalMs: ${pingMs} client.reconnectAfterInactivityMs: ${client.reconnectAfterInactivityMs}`);
  }
  const connected = `event: connected\ndata: ${JSON.stringify(client)}\n\n\n`;
  const pinger = pingMs === undefined ? undefined : new Pinger(pingMs);
  const serialize = (value: unknown) => JSON.stringify(config.transformer.output.serialize(value));

  /** The procedure when this request is a plain subscription call we take; undefined: tRPC's adapter answers. */
  async function subscriptionOf(req: Request, params: URLSearchParams): Promise<{ path: string; procedure: AnyTRPCProcedure } | undefined> {
    if (req.method !== "GET" || sse.enabled === false) return undefined;
    if (params.get("batch") === "1") return undefined;
    if (wantsJsonLines(req.headers)) return undefined;
    const contentType = mediaType(req.headers["content-type"]);
    if (contentType !== undefined && contentType !== "application/json") return undefined;
    const connectionParams = params.get("connectionParams");
    if (connectionParams !== null && !connectionParamsValid(connectionParams)) return undefined;
    const urlPath = procedurePathOf(req.url);
    if (urlPath === undefined) return undefined;
    const { path, procedure } = await procedureAt(router, urlPath);
    return procedure?._def.type === "subscription" ? { path, procedure } : undefined;
  }

  async function serve(req: Request, res: Response, { path, procedure }: { path: string; procedure: AnyTRPCProcedure }, params: URLSearchParams): Promise<void> {
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) abort.abort();
    };
    res.once("close", onClose);

    // The input as tRPC reads it: `?input=` (JSON, through the transformer), then the client's last event id.
    const query = params.get("input");
    const header = req.headers["last-event-id"];
    const lastEventIdParam = (Array.isArray(header) ? header.join(", ") : header) ?? params.get("lastEventId") ?? params.get("Last-Event-Id") ?? null;
    let parsedInput: unknown;
    const getRawInput = (): Promise<unknown> => {
      let input: unknown;
      try {
        input = query ? config.transformer.input.deserialize(JSON.parse(query)) : undefined;
      } catch (cause) {
        return Promise.reject(cause instanceof TRPCError ? cause : new TRPCError({ code: "BAD_REQUEST", message: cause instanceof Error ? cause.message : "Invalid input", cause }));
      }
      parsedInput = input;
      if (lastEventIdParam) {
        if (isObject(input)) input = { ...input, lastEventId: lastEventIdParam };
        else input ??= { lastEventId: lastEventIdParam };
      }
      return Promise.resolve(input);
    };

    let ctx: TContext | undefined;
    let iterable: AsyncIterable<unknown> | undefined;
    let failure: TRPCError | undefined;
    try {
      ctx = await createContext({ req, res });
      const data: unknown = await procedure({ path, getRawInput, ctx, type: "subscription", signal: abort.signal, batchIndex: 0 });
      if (isObservable(data)) iterable = observableToAsyncIterable(data, abort.signal);
      else if (isAsyncIterable(data)) iterable = data;
      else throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `Subscription ${path} did not return an observable or a AsyncGenerator` });
    } catch (cause) {
      failure = getTRPCErrorFromUnknown(cause);
    }

    const iterator = iterable?.[Symbol.asyncIterator]();
    if (abort.signal.aborted) {
      // The client left while the procedure started.
      res.off("close", onClose);
      await iterator?.return?.()?.catch(() => {});
      res.end();
      return;
    }
    // What tRPC's SSE response carries: status 200 (an error is an event), its headers, then `connected`.
    for (const [key, value] of STREAM_HEADERS) res.setHeader(key, value);
    const stream = new OpenStream(res);
    stream.write(connected);

    const endWith = (error: TRPCError) => {
      onError?.({ error, type: "subscription", path, input: parsedInput, ctx, req });
      const shape = errorShapeOf(router, { ctx, error, input: parsedInput, path, type: "subscription" });
      stream.write(`event: serialized-error\ndata: ${serialize(shape)}\n\n\n`);
    };
    if (!iterator) {
      res.off("close", onClose);
      endWith(failure ?? new TRPCError({ code: "INTERNAL_SERVER_ERROR" }));
      res.end();
      return;
    }

    // A client that leaves ends the generator (its `finally` runs), as tRPC's adapter does; so does an
    // event that cannot be serialized (the loop below ends on it). On a finished generator it does nothing.
    const stop = () => void iterator.return?.()?.catch(() => {});
    abort.signal.addEventListener("abort", stop, { once: true });
    const maxDuration = sse.maxDurationMs ? setTimeout(() => abort.abort(), sse.maxDurationMs) : undefined;
    pinger?.add(stream);
    let lastEventId = lastEventIdParam && !/[\0\n\r]/.test(lastEventIdParam) ? lastEventIdParam : null;
    try {
      for (;;) {
        const result = await iterator.next();
        if (abort.signal.aborted) break;
        if (result.done) {
          stream.write(RETURN);
          break;
        }
        const value: unknown = result.value;
        let text: string;
        if (isTrackedEnvelope(value)) {
          lastEventId = value[0];
          text = `data: ${serialize(value[1])}\nid: ${value[0]}\n\n\n`;
        } else if (lastEventId === null) {
          text = `data: ${serialize(value)}\n\n\n`;
        } else {
          // An untracked event after tracked ones: tRPC clears the id, then restores it.
          text = `data: ${serialize(value)}\nid: \n\n\nevent: restore-id\ndata: \nid: ${lastEventId}\n\n\n`;
        }
        if (!stream.write(text)) await drained(res);
      }
    } catch (cause) {
      if (!abort.signal.aborted && !isAbortError(cause)) endWith(getTRPCErrorFromUnknown(cause));
    } finally {
      pinger?.delete(stream);
      clearTimeout(maxDuration);
      if (!abort.signal.aborted) {
        abort.signal.removeEventListener("abort", stop);
        stop();
      }
      res.off("close", onClose);
      res.end();
    }
  }

  return (req: Request, res: Response, next: NextFunction) => {
    const params = queryOf(req.url);
    subscriptionOf(req, params).then(
      (subscription) => {
        if (subscription === undefined) next();
        else void serve(req, res, subscription, params).catch(next);
      },
      () => next(),
    );
  };
}
