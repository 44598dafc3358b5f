/**
 * The Redis connection of the shared rate-limit counters. Redis is an accelerator here, never a single
 * point of failure: every command has a short timeout (REDIS_TIMEOUT_MS), and the connection knows whether
 * Redis answers. While it does not (frozen, refusing, absent since the start), the rate limits count in the
 * process instead (./rate-limit-store.ts) until a probe finds it answering again. Each change of that state
 * is one log line; nothing is logged per request.
 */
import { createClient } from "redis";
import type { Logger } from "../logger.js";

/** Where the rate-limit counters are kept now: in Redis (shared by every instance) or in this process alone. */
export type RateLimitStore = "redis" | "local";

export const DEFAULT_REDIS_TIMEOUT_MS = 100;
/** How often Redis is asked whether it answers (PING with the command timeout), whichever the state. */
const PROBE_INTERVAL_MS = 1_000;
/** A new connection's TCP connect timeout; the start waits for Redis about this long at most. */
const CONNECT_TIMEOUT_MS = 1_000;

export class RedisTimeoutError extends Error {
  override name = "RedisTimeoutError";
}

export interface RedisConnection {
  /**
   * One command, answered within the command timeout: it rejects on a timeout, a connection fault or an
   * error reply of Redis's. It never waits for a connection (the offline queue is off).
   */
  sendCommand(args: string[]): Promise<unknown>;
  /** True while Redis answers: from a successful probe (its `prepare`s done) until the next fault. */
  readonly available: boolean;
  /** A fault a user of the connection met (a command that failed or timed out): unavailable until a probe succeeds. */
  fault(error: unknown): void;
  /**
   * Work to redo each time Redis comes (back), before it counts as available: what Redis never had or has
   * forgotten (the rate-limit stores' Lua scripts, after an absent start or a restart).
   */
  whenAvailable(prepare: () => Promise<unknown>): void;
  /** Closes the connection; bounded, so a frozen Redis does not hold up a shutdown. */
  quit(): Promise<void>;
}

export interface RedisOptions {
  /** REDIS_TIMEOUT_MS. */
  timeoutMs?: number | undefined;
}

/** The store the rate limits use now, for readiness and the gauge: "local" without a Redis or while it is away. */
export const rateLimitStoreOf = (redis: Pick<RedisConnection, "available"> | undefined): RateLimitStore => (redis?.available ? "redis" : "local");

/** A fault in a few words for the log line (no stack): connection refused, a timeout, a closed socket. */
function reasonOf(error: unknown): string {
  // Node's happy-eyeballs connect (localhost: ::1 and 127.0.0.1) fails with an AggregateError without a message.
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(reasonOf).join("; ");
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

/**
 * Connects to Redis and resolves once the first state is known: Redis answered, or its first attempt
 * failed (refused, or no answer within the connect timeout). It never waits for Redis longer than that:
 * a service whose Redis is absent starts and serves, counting locally, and uses Redis when it comes.
 */
export async function connectRedis(url: string, log: Logger, options: RedisOptions = {}): Promise<RedisConnection> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  const client = createClient({
    url,
    // A command while disconnected fails at once instead of queueing for a Redis that may not come back.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000),
    },
  });

  let available = false;
  let announced: RateLimitStore | undefined;
  let faults = 0;
  let closed = false;
  const prepares: Array<() => Promise<unknown>> = [];
  let settle = () => {};
  const settled = new Promise<void>((resolve) => (settle = resolve));

  const announce = (store: RateLimitStore, reason?: string) => {
    available = store === "redis";
    settle();
    if (announced === store) return;
    announced = store;
    if (store === "redis") log.info({ rateLimits: store }, "rate limits: Redis answers; the counters are shared by every instance");
    else log.warn({ rateLimits: store, reason }, "rate limits: Redis is unavailable; counting in this process until it answers (approximate: each instance counts alone)");
  };
  const fault = (error: unknown) => {
    if (closed) return;
    faults++;
    announce("local", reasonOf(error));
  };

  // node-redis has a `timeout` command option, but it covers a command only until it is written to the
  // socket; a frozen Redis (SIGSTOP) still accepts the write into its kernel buffer and never answers, so
  // the timeout here is a race of the reply against a timer.
  const sendCommand = (args: string[]): Promise<unknown> => {
    let reply: Promise<unknown>;
    try {
      reply = client.sendCommand(args);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // A reply that lost the race may still fail later (the socket closes): it is nobody's business then.
    reply.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const timeout = new Promise<never>((_resolve, reject) => {
      const expire = () => reject(new RedisTimeoutError(`Redis did not answer within ${timeoutMs} ms`));
      // The time is Redis's alone, not this process's: the clock starts when the command is written
      // (node-redis writes from a setImmediate, queued before this one), and at its end the rejection waits
      // for the event loop's I/O phase. So a start's synchronous work, or the embedded database's queries
      // (they run on this thread), holding the loop do not count, and a reply that reached the socket while
      // the loop was held is read before the timeout wins.
      setImmediate(() => {
        if (done) return;
        timer = setTimeout(() => setImmediate(expire), timeoutMs);
        timer.unref();
      });
    });
    return Promise.race([reply, timeout]).finally(() => {
      done = true;
      clearTimeout(timer);
    });
  };

  let probing = false;
  const probe = async () => {
    if (probing || closed) return;
    probing = true;
    const faultsBefore = faults;
    try {
      await sendCommand(["PING"]);
      if (!available) await Promise.all(prepares.map((prepare) => prepare()));
      // A fault met meanwhile (by a request, or the client) is newer than this probe's answer.
      if (faults === faultsBefore && !closed) announce("redis");
    } catch (error) {
      fault(error);
    } finally {
      probing = false;
    }
  };

  // Emitted on every failed (re)connection attempt too; the state change is the one line at warn level.
  client.on("error", (error: Error) => {
    log.debug({ err: error }, "redis: connection error");
    fault(error);
  });
  client.on("ready", () => void probe());
  const probes = setInterval(() => void probe(), PROBE_INTERVAL_MS);
  probes.unref();
  // It resolves once connected, retrying meanwhile (reconnectStrategy); it rejects only when closed first.
  client.connect().catch((error: unknown) => fault(error));
  const waited = setTimeout(() => {
    if (announced === undefined) fault(new RedisTimeoutError(`Redis did not answer within ${CONNECT_TIMEOUT_MS + timeoutMs} ms of the start`));
  }, CONNECT_TIMEOUT_MS + timeoutMs);
  waited.unref();
  await settled;
  clearTimeout(waited);

  return {
    sendCommand,
    get available() {
      return available;
    },
    fault,
    whenAvailable(prepare) {
      prepares.push(prepare);
    },
    async quit() {
      if (closed) return;
      closed = true;
      available = false;
      clearInterval(probes);
      // QUIT waits for the replies still due; a frozen Redis never sends them: the socket is dropped after the command timeout.
      let timer: NodeJS.Timeout | undefined;
      const closedInTime = await Promise.race([
        client.close().then(() => true, () => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!closedInTime) client.destroy();
    },
  };
}
