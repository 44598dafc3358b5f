/**
 * HTTP timeouts that are safe behind a load balancer. A balancer reuses idle keep-alive connections
 * for up to its own idle timeout (60 s on AWS ALB, GCP and nginx's default 75 s upstream keepalive is
 * configurable); if this process closes such a connection first, a request the balancer sends on it at
 * that moment fails with a 502. So the service keeps idle connections longer than the balancer does
 * (`KEEP_ALIVE_TIMEOUT_MS`, 65 s) and the balancer always closes first.
 *
 * `headersTimeout` stays above `keepAliveTimeout`: Node counts it from the first byte of a request,
 * and older releases counted it across the idle period too, closing reused connections early
 * (nodejs/node#27363); keeping it above is the documented safe setting.
 * @see https://nodejs.org/api/http.html#serverkeepalivetimeout
 */
import type { Server } from "node:http";
import { headersTimeoutFor } from "../config.js";
import type { Config } from "../config.js";

/** Applies the configured timeouts to a listening (or about to listen) HTTP server. */
export function applyServerTimeouts(server: Server, config: Pick<Config, "http">): void {
  const { keepAliveTimeoutMs, requestTimeoutMs } = config.http;
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.headersTimeout = headersTimeoutFor(keepAliveTimeoutMs);
  server.requestTimeout = requestTimeoutMs;
}
