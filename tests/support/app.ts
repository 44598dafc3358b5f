import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import jwt from "jsonwebtoken";
import { pino } from "pino";
import { createApp } from "../../server/app.js";
import { createDependencies } from "../../server/dependencies.js";
import type { AppState } from "../../server/app.js";
import { parseConfig } from "../../server/config.js";
import type { Config } from "../../server/config.js";
import type { Database } from "../../server/db/database.js";
import { createHttpServer } from "../../server/http/server-timeouts.js";
import { createLogger } from "../../server/logger.js";
import type { Logger } from "../../server/logger.js";
import { authenticatorOf } from "../../server/auth/authenticator.js";
import { signAccessToken } from "../../server/auth/token.js";
import { createContext } from "../../server/trpc/context.js";
import type { AppDependencies } from "../../server/dependencies.js";
import type { Context } from "../../server/trpc/context.js";
import { createCallerFactory } from "../../server/trpc/init.js";
import { appRouter, procedurePaths } from "../../server/trpc/app-router.js";

export const TEST_SECRET = "test-secret-key-0123456789abcdef";

export function testConfig(env: NodeJS.ProcessEnv = {}): Config {
  return parseConfig({ NODE_ENV: "test", SECRET_KEY: TEST_SECRET, LOG_LEVEL: "silent", ...env });
}

/** A logger whose JSON lines are kept in `lines`, so tests can read what was logged. */
export function memoryLogger(logLevel: Config["logLevel"] = "info"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ logLevel }, stream), lines };
}

/** A clock a test moves forward instead of waiting (what idempotency keys of creates expire by). */
export interface TestClock {
  now(): Date;
  /** Moves the clock `ms` milliseconds forward, for every later call. */
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance(ms) {
      offset += ms;
    },
  };
}

export function makeDependencies(db: Database, options: { config?: Config; log?: Logger; clock?: TestClock } = {}): AppDependencies {
  const { config = testConfig(), clock } = options;
  return createDependencies(config, db, options.log ?? pino({ level: "silent" }), { procedurePaths, now: clock && (() => clock.now()) });
}

export function tokenFor(sub: string, organizationId: string, extra: { role?: string; email?: string; minutes?: number } = {}): string {
  return signAccessToken({ sub, organizationId, minutes: extra.minutes ?? 60, role: extra.role, email: extra.email }, TEST_SECRET);
}

/** Signs arbitrary claims with the test secret (or `secret`), for token-rejection tests. */
export function rawToken(payload: object, options: jwt.SignOptions = {}, secret: jwt.Secret = TEST_SECRET): string {
  return jwt.sign(payload, secret, { algorithm: "HS256", ...options });
}

const createCaller = createCallerFactory(appRouter);

/** The context of a request with this `Authorization` header, made the way the HTTP layer makes it. */
export function contextFor(deps: AppDependencies, authorization: string | undefined, requestId = "test"): Context {
  return createContext(deps, { requestId, authenticate: authenticatorOf(deps.verifyToken, { authorization: authorization }) });
}

/** A server-side caller with the given bearer token, as if the request came over HTTP. */
export function callerFor(deps: AppDependencies, token: string | undefined) {
  return createCaller(contextFor(deps, token === undefined ? undefined : `Bearer ${token}`));
}

export interface RunningServer {
  url: string;
  state: AppState;
  close(): Promise<void>;
}

/** Starts the real Express app on an ephemeral loopback port, with the HTTP timeouts `main.ts` applies. */
export async function startServer(deps: AppDependencies): Promise<RunningServer> {
  const state: AppState = { draining: false };
  // As main.ts does: the process's LISTEN for live changes; closed with the server (before its database goes).
  await deps.changeHub.start();
  const server = createHttpServer(createApp(deps, state), deps.config).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: async () => {
      await deps.changeHub.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
