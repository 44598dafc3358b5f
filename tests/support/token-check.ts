/**
 * For tests of token verification: a database of the test file's own, and what `auth.me` answers for a
 * token under a configuration (each call builds the app's dependencies from `testConfig(env)`).
 */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll } from "vitest";
import { callerFor, makeDependencies, testConfig } from "./app.js";
import { createTestDatabase } from "./database.js";
import type { TestDatabase } from "./database.js";

export function useTokenCheck() {
  let testDb: TestDatabase | undefined;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.drop());

  /** The caller `auth.me` answers for `token` under `env`, or the tRPC code it was refused with. */
  const me = (env: NodeJS.ProcessEnv, token: string): Promise<unknown> => {
    if (!testDb) throw new Error("useTokenCheck: available inside tests only (after beforeAll)");
    return callerFor(makeDependencies(testDb.db, { config: testConfig(env) }), token)
      .auth.me()
      .then(
        (caller) => caller,
        (e: unknown) => (e instanceof TRPCError ? e.code : String(e)),
      );
  };
  /** "ok" when `token` is accepted under `env`, else the tRPC code it was refused with. */
  const outcome = async (env: NodeJS.ProcessEnv, token: string): Promise<string> => {
    const answer = await me(env, token);
    return typeof answer === "string" ? answer : "ok";
  };
  return { me, outcome };
}
