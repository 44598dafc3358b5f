/**
 * The interactive-transaction limit (Prisma's `$transaction` timeout), derived from the statement timeout
 * (server/db/statement-timeout.ts): a transaction may outlast one statement timeout and commit, and one that
 * outlives the limit is SERVICE_UNAVAILABLE (503) on both surfaces, never a 500. PGlite and PostgreSQL.
 */
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.js";
import { transactionOptionsFor } from "../../server/db/statement-timeout.js";
import { restErrorOf } from "../../server/rest/errors.js";
import { toTRPCError } from "../../server/trpc/errors.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

const STATEMENT_TIMEOUT_MS = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ statementTimeoutMs: STATEMENT_TIMEOUT_MS });
});
afterAll(() => database?.drop());

/** A transaction of two statements with `ms` in between (a caller that holds it open). */
const transactionLasting = (ms: number) =>
  database.db.prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1`;
    await sleep(ms);
    return tx.$queryRaw<{ n: number }[]>`SELECT 2 AS n`;
  });

describe("the interactive-transaction limit", () => {
  it("is twice the statement timeout, so one statement that waits its whole timeout fails as a statement timeout first", () => {
    expect(transactionOptionsFor(10_000)).toEqual({ maxWait: 10_000, timeout: 20_000 });
    expect(transactionOptionsFor(0)).toBeUndefined();
  });

  it("lets a transaction that lasts longer than one statement timeout commit", async () => {
    expect(await transactionLasting(STATEMENT_TIMEOUT_MS + 100)).toEqual([{ n: 2 }]);
  });

  it("a transaction that outlives it is SERVICE_UNAVAILABLE (503 on tRPC and REST), not a 500", async () => {
    const error = await transactionLasting(2 * STATEMENT_TIMEOUT_MS + 300).then(
      () => undefined,
      (cause: unknown) => cause,
    );
    expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    expect((error as Prisma.PrismaClientKnownRequestError).code).toBe("P2028");
    const mapped = toTRPCError(error);
    expect(mapped?.code).toBe("SERVICE_UNAVAILABLE");
    expect(mapped && getHTTPStatusCodeFromError(mapped)).toBe(503);
    const rest = restErrorOf(error, { resourceName: "Feature", production: true });
    expect(rest.error.status).toBe(503);
    // Expected: answered without an error-level log line (server/rest/rest.router.ts logs only the unexpected).
    expect(rest.expected).toBe(true);
    // The database is fine afterwards.
    expect(await transactionLasting(0)).toEqual([{ n: 2 }]);
  });
});
