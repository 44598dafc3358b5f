import { createClient } from "redis";
import type { Logger } from "../logger.js";

/**
 * Connects to Redis for the shared rate-limit counters. The client reconnects by itself; while Redis is
 * away the limiters let requests through (see rate-limit.ts) and the outage is logged once per error.
 */
export async function connectRedis(url: string, log: Logger) {
  const client = createClient({
    url,
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(retries * 200, 2_000) },
  });
  client.on("error", (err: Error) => log.warn({ err }, "redis: connection error"));
  await client.connect();
  return client;
}
