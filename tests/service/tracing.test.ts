/**
 * Traces: the service process exports to an OTLP/HTTP receiver of the test's own (http/json, so the
 * test reads the spans as JSON): a span for the HTTP request, one named by the procedure path, and one
 * for each SQL statement, all in one trace whose id is in the request's log line. With tracing off, no
 * OpenTelemetry module is loaded at all (every loaded module is recorded by a preload).
 */
import { createServer } from "node:http";
import type { Server } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "../support/app.js";
import { projectRoot, startServiceProcess, stopServiceProcess, TSX_MAIN } from "../support/service-process.js";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}
interface OtlpRequest {
  resourceSpans: { resource?: { attributes?: OtlpSpan["attributes"] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

const received: OtlpRequest[] = [];
let receiver: Server;
let receiverUrl: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "kuark-tracing-"));
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/traces") received.push(JSON.parse(body) as OtlpRequest);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const spans = () => received.flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)));
const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((a) => a.key === key)?.value.stringValue;

/** Runs the service with the module recorder; returns its output and the modules it loaded. */
async function runService(name: string, env: NodeJS.ProcessEnv, work: (url: string) => Promise<void>) {
  const modulesFile = path.join(dir, `${name}-modules.txt`);
  const service = await startServiceProcess(
    { PGLITE_DATA_DIR: path.join(dir, name), LOADED_MODULES_FILE: modulesFile, ...env },
    { args: ["--import", path.join(projectRoot, "tests/support/loaded-modules.mjs"), ...TSX_MAIN] },
  );
  await work(service.url);
  expect(await stopServiceProcess(service)).toBe(0);
  return { output: service.output(), modules: (await readFile(modulesFile, "utf8")).split("\n").filter(Boolean) };
}

const authorization = `Bearer ${tokenFor("tracer", "tracing-org")}`;
const openTelemetry = (modules: string[]) => modules.filter((m) => /[\\/]@opentelemetry[\\/]|[\\/]@prisma[\\/]instrumentation[\\/]/.test(m));

describe("tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)", () => {
  let run: Awaited<ReturnType<typeof runService>>;
  beforeAll(async () => {
    run = await runService(
      "on",
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_SERVICE_NAME: "kuark-test", OTEL_BSP_SCHEDULE_DELAY: "100" },
      async (url) => {
        const created = await fetch(`${url}/trpc/features.create`, {
          method: "POST",
          headers: { authorization, "content-type": "application/json" },
          body: JSON.stringify({ name: "Traced feature" }),
        });
        expect(created.status).toBe(200);
        const listed = await fetch(`${url}/trpc/features.list?input=${encodeURIComponent(JSON.stringify({ search: "Traced" }))}`, { headers: { authorization } });
        expect(listed.status).toBe(200);
      },
    );
  }, 120_000);

  it("exports a trace per request: HTTP server span, procedure span named by its path, SQL spans", () => {
    const all = spans();
    const procedure = all.find((s) => s.name === "features.list");
    expect(procedure, `span names: ${[...new Set(all.map((s) => s.name))].join(", ")}`).toBeDefined();
    expect(attribute(procedure!, "rpc.method")).toBe("features.list");
    const trace = all.filter((s) => s.traceId === procedure!.traceId);
    // The HTTP request (SpanKind.SERVER = 2) is the root of the trace.
    const server = trace.find((s) => s.kind === 2);
    expect(server).toBeDefined();
    expect(server!.parentSpanId ? trace.some((s) => s.spanId === server!.parentSpanId) : false).toBe(false);
    // Prisma's query spans carry the SQL text, with placeholders, never the search value.
    const statements = trace.map((s) => attribute(s, "db.query.text")).filter((sql): sql is string => sql !== undefined);
    expect(statements.some((sql) => /SELECT .* FROM "public"\."features"/s.test(sql))).toBe(true);
    expect(statements.some((sql) => sql.includes("$1"))).toBe(true);
    expect(statements.join("\n")).not.toContain("Traced");
    // The create's INSERT is in a trace of its own.
    expect(all.some((s) => s.traceId !== procedure!.traceId && /INSERT INTO "public"\."features"/.test(attribute(s, "db.query.text") ?? ""))).toBe(true);
    expect(received[0]!.resourceSpans[0]!.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue).toBe("kuark-test");
  });

  it("writes the trace id into the request's log line", () => {
    const procedure = spans().find((s) => s.name === "features.list")!;
    const line = run.output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string; traceId?: string; procedures?: string[] })
      .find((entry) => entry.msg === "request completed" && entry.procedures?.[0] === "features.list");
    expect(line?.traceId).toBe(procedure.traceId);
  });

  it("loads OpenTelemetry (the recorder sees it)", () => {
    expect(openTelemetry(run.modules).length).toBeGreaterThan(0);
  });
});

describe("tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)", () => {
  it("loads no @opentelemetry/* module at all, while serving metrics and requests", async () => {
    const run = await runService("off", {}, async (url) => {
      expect((await fetch(`${url}/trpc/auth.me`, { headers: { authorization } })).status).toBe(200);
    });
    expect(run.modules.some((m) => m.includes("/node_modules/express/"))).toBe(true); // the recorder works
    expect(run.modules.some((m) => m.includes("/node_modules/prom-client/"))).toBe(true); // metrics are on
    expect(openTelemetry(run.modules)).toEqual([]);
    expect(run.output).not.toContain("traceId");
  }, 120_000);
});
