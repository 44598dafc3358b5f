/**
 * OpenTelemetry tracing, loaded only by ./tracing.ts when an OTLP endpoint is configured.
 *
 * Only what the issue asks for: spans for incoming HTTP requests (instrumentation-http), for tRPC
 * procedures (our own middleware, with the tracer API), and for database queries: the kit's statements
 * (server/db/sql.ts, a span each, through the hooks) and Prisma's (Prisma 7's own `@prisma/instrumentation`);
 * both carry the SQL with `$1` placeholders, never the values.
 * The 0.2xx / 2.x line of the JS SDK is the newest that supports Node 20 (0.300+ needs Node 22.15).
 * Not `@opentelemetry/sdk-node`: it pulls every exporter (gRPC, Zipkin, logs, metrics) in.
 *
 * Standard variables honoured: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT / _HEADERS / _TIMEOUT and
 * _PROTOCOL (`http/protobuf`, the default, or `http/json`), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*.
 */
import { createRequire } from "node:module";
import { IncomingMessage } from "node:http";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as OTLPJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { PrismaInstrumentation } from "@prisma/instrumentation";
import type { Logger } from "../logger.js";
import { TRACE_ID } from "./trace-hooks.js";
import type { TracingHooks } from "./trace-hooks.js";

export function startOpenTelemetry(hooks: TracingHooks, env: NodeJS.ProcessEnv, log: Logger): void {
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf";
  if (protocol !== "http/json" && protocol !== "http/protobuf") {
    log.warn({ protocol }, "tracing: only OTLP over HTTP is supported (http/protobuf or http/json); using http/protobuf");
  }
  const exporter = protocol === "http/json" ? new OTLPJsonExporter() : new OTLPProtobufExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": "kuark-features-service" }).merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Load-balancer health checks every few seconds would drown the traces that matter.
        ignoreIncomingRequestHook: (req) => req.url?.startsWith("/health") ?? false,
        // tRPC's httpSubscriptionLink sends `connectionParams` (the bearer token) in the query string:
        // never into a span. The rest is the instrumentation's own default list, which this replaces.
        redactedQueryParamsServer: ["connectionParams", "sig", "Signature", "AWSAccessKeyId", "X-Goog-Signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token"],
        requestHook(span, request) {
          if (request instanceof IncomingMessage) {
            (request as IncomingMessage & { [TRACE_ID]?: string })[TRACE_ID] = span.spanContext().traceId;
          }
        },
      }),
      new PrismaInstrumentation(),
    ],
  });
  // The server's `http` module was loaded (by Express) before the instrumentation was enabled.
  // require-in-the-middle patches a module when it is next required: this require makes it patch
  // `http` now. The patch wraps `http.Server.prototype.emit`, shared by every server, Express's too,
  // so no `--import` loader hook is needed (tests/service/tracing.test.ts runs both tsx and dist/).
  createRequire(import.meta.url)("http");

  const tracer = trace.getTracer("kuark-features-service");
  hooks.procedureSpan = (path, type, fn) =>
    tracer.startActiveSpan(path, { kind: SpanKind.INTERNAL, attributes: { "rpc.system": "trpc", "rpc.method": path, "trpc.type": type } }, async (span) => {
      try {
        const result = await fn();
        if (!result.ok && result.error) {
          span.setAttribute("trpc.error_code", result.error.code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.code });
        }
        return result;
      } finally {
        span.end();
      }
    });
  // The names and attributes of OpenTelemetry's database conventions, as Prisma's spans carry them.
  hooks.statementSpan = (text, fn) =>
    tracer.startActiveSpan("db_query", { kind: SpanKind.CLIENT, attributes: { "db.system.name": "postgresql", "db.query.text": text } }, async (span) => {
      try {
        return await fn();
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as { code?: string }).code ?? "error" });
        throw error;
      } finally {
        span.end();
      }
    });
  hooks.shutdown = () => provider.shutdown();
  log.info({ protocol: protocol === "http/json" ? protocol : "http/protobuf" }, "tracing: OpenTelemetry on");
}
