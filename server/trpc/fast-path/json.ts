/**
 * The JSON fast path: a lean HTTP path for the calls most clients make: tRPC queries and mutations answered as plain JSON
 * (`httpLink`, `httpBatchLink`), single or batched. Everything else — streamed batches
 * (`httpBatchStreamLink`, `trpc-accept: application/jsonl`), subscriptions, form data, method mismatches,
 * unknown procedures, malformed input, HEAD, chunked bodies — is passed on untouched (`next()`) to tRPC's
 * official Express adapter mounted right after it, so every answer this file does not build is tRPC's own.
 *
 * Why a second adapter at all: the official one turns each Node request into a Fetch `Request` (URL,
 * `Headers`, `AbortController`, a body `ReadableStream`), builds a Fetch `Response`, and pipes it back
 * through a `WritableStream` with `Transfer-Encoding: chunked`. For a small JSON answer that machinery
 * costs more than our whole database round trip (bench/results/summary.md, "Levers"). This path reads the
 * Node request directly, calls the procedure exactly as tRPC's `resolveResponse` does (same procedure
 * call options, same `onError`, same error shapes from `getErrorShape`, same status from
 * `getHTTPStatusCode`) and writes one buffered body with `Content-Length`.
 *
 * It follows tRPC's HTTP RPC specification (https://trpc.io/docs/rpc): `GET /trpc/<path>?input=<json>`
 * for queries, `POST /trpc/<path>` with a JSON body for mutations, `?batch=1` with comma-separated paths
 * and inputs keyed by index, `{ result: { data } }` or `{ error }` per call, an array for batches, and the
 * batch's status (207 when the calls' statuses differ). tests/trpc/trpc-adapters.test.ts sends the same
 * calls to both adapters and compares status, headers and bodies.
 */
import type { AnyTRPCProcedure, AnyTRPCRouter, TRPCError } from "@trpc/server";
import { getHTTPStatusCode } from "@trpc/server/http";
import type { NextFunction, Request, Response } from "express";
// tRPC's own building blocks, so shapes, codes and procedure lookup cannot drift from the official adapter's.
import { errorShapeOf, getTRPCErrorFromUnknown, procedureAt, responseBody } from "./internals.js";
import { mediaType, procedurePathOf, queryOf, requestSignal, wantsJsonLines } from "./request.js";

type ProcedureType = "query" | "mutation";

export interface JsonAdapterOptions<TContext> {
  router: AnyTRPCRouter;
  maxBatchSize: number;
  maxBodySize: number;
  createContext: (req: Request) => TContext;
  onError: (opts: { error: TRPCError; path: string | undefined; input: unknown; ctx: TContext | undefined; type: ProcedureType | "unknown"; req: Request }) => void;
}

interface Call {
  path: string;
  procedure: AnyTRPCProcedure;
  input: unknown;
}

const METHOD_OF: Record<ProcedureType, string> = { query: "GET", mutation: "POST" };

/** One buffered JSON answer, with the headers tRPC's adapter sets on it (it also replaces any earlier Vary). */
function send(res: Response, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("vary", "trpc-accept, accept");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

function readBody(req: Request, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    });
    req.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks, size).toString("utf8")));
    req.on("error", () => resolve(undefined));
  });
}

/**
 * The calls of a request when this path can answer it; `undefined` when tRPC's adapter must (anything
 * outside plain JSON queries and mutations, and every request whose error tRPC raises before a procedure runs).
 */
async function callsOf(router: AnyTRPCRouter, req: Request, body: string | undefined, maxBatchSize: number): Promise<{ calls: Call[]; batch: boolean } | undefined> {
  const pathText = procedurePathOf(req.url);
  if (pathText === undefined) return undefined;
  const params = queryOf(req.url);
  if (params.has("connectionParams")) return undefined;
  const batch = params.get("batch") === "1";
  const paths = batch ? pathText.split(",") : [pathText];
  if (batch && paths.length > maxBatchSize) return undefined;

  let inputs: unknown;
  const text = req.method === "GET" ? params.get("input") : body;
  if (text) {
    try {
      inputs = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  if (batch && inputs !== undefined && (typeof inputs !== "object" || inputs === null || Array.isArray(inputs))) return undefined;

  const calls: Call[] = [];
  for (const [index, urlPath] of paths.entries()) {
    const { path, procedure } = await procedureAt(router, urlPath);
    const type = procedure?._def.type;
    if (!procedure || (type !== "query" && type !== "mutation") || METHOD_OF[type] !== req.method) return undefined;
    const input = batch ? (inputs as Record<string, unknown> | undefined)?.[index] : inputs;
    calls.push({ path, procedure, input });
  }
  // (A batch mixing queries and mutations cannot get here: a GET admits only queries, a POST only mutations.)
  return { calls, batch };
}

export function createJsonAdapter<TContext>(options: JsonAdapterOptions<TContext>) {
  const { router, maxBatchSize, maxBodySize, createContext, onError } = options;

  async function answer(req: Request, res: Response, calls: Call[], batch: boolean) {
    const type: ProcedureType = req.method === "GET" ? "query" : "mutation";
    const ctx = createContext(req);
    // As tRPC's adapter does: the procedures see the request's abort signal (the client went away).
    const signal = requestSignal(res);
    const results = await Promise.all(
      calls.map(async (call, batchIndex) => {
        try {
          const data: unknown = await call.procedure({
            path: call.path,
            getRawInput: () => Promise.resolve(call.input),
            ctx,
            type,
            signal,
            batchIndex,
          });
          return { result: { data } };
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause);
          onError({ error, path: call.path, input: call.input, ctx, type, req });
          return { error: errorShapeOf(router, { ctx, error, input: call.input, path: call.path, type }), cause: error };
        }
      }),
    );
    const untransformed = results.map((r) => ("error" in r ? { error: r.error } : r));
    const errors = results.map((r) => ("cause" in r ? r.cause : undefined));
    const json = batch ? untransformed : untransformed[0]!;
    const status = getHTTPStatusCode(json as Parameters<typeof getHTTPStatusCode>[0], errors);
    send(res, status, responseBody(router, json));
  }

  /** What tRPC answers when building a response throws (an answer that cannot be serialized, say): a 500 in its error shape. */
  function fail(req: Request, res: Response, cause: unknown) {
    const error = getTRPCErrorFromUnknown(cause);
    onError({ error, path: undefined, input: undefined, ctx: undefined, type: "unknown", req });
    if (res.headersSent) {
      res.end();
      return;
    }
    const shape = errorShapeOf(router, { ctx: undefined, error, input: undefined, path: undefined, type: "unknown" });
    send(res, shape.data.httpStatus, responseBody(router, { error: shape }));
  }

  return function jsonAdapter(req: Request, res: Response, next: NextFunction): void {
    const method = req.method;
    if (method !== "GET" && method !== "POST") return next();
    const contentType = req.headers["content-type"];
    const json = mediaType(contentType) === "application/json";
    if (method === "POST" ? !json : contentType !== undefined && !json) return next();
    if (wantsJsonLines(req.headers)) return next();

    if (method === "GET") {
      callsOf(router, req, undefined, maxBatchSize)
        .then((parsed) => (parsed ? answer(req, res, parsed.calls, parsed.batch) : next()))
        .catch((cause: unknown) => fail(req, res, cause));
      return;
    }
    // A body without a declared length (chunked) is left to tRPC's reader and its size limit.
    const declared = Number(req.headers["content-length"]);
    if (!Number.isInteger(declared) || declared < 0 || declared > maxBodySize) return next();
    readBody(req, maxBodySize)
      .then(async (body) => {
        if (body === undefined) return next();
        const parsed = await callsOf(router, req, body, maxBatchSize);
        if (parsed) return answer(req, res, parsed.calls, parsed.batch);
        // tRPC's adapter reads a body that was already consumed from `req.body`.
        (req as Request & { body: string }).body = body;
        next();
      })
      .catch((cause: unknown) => fail(req, res, cause));
  };
}
