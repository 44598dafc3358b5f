/**
 * Property-based: random and adversarial inputs thrown at every procedure (through createCaller and over
 * HTTP) never produce a 500, never crash, never pollute prototypes, never touch another organization.
 */
import { TRPCError } from "@trpc/server";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../server/trpc/context.js";
import { callerFor, makeServices, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

let testDb: TestDatabase;
let services: Services;
let server: RunningServer;
const attacker = "org-attacker";
const victim = "org-victim";
const victimIds: string[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  services = makeServices(testDb.db, { config: testConfig({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0" }) });
  server = await startServer(services);
  const victimApi = callerFor(services, tokenFor("vic", victim));
  for (const name of ["Victim one", "Victim two", "Victim 100%"]) victimIds.push((await victimApi.features.create({ name })).id);
  // The attacker owns a few rows too, so updates and deletes of its own ids run as well.
  const attackerApi = callerFor(services, tokenFor("mallory", attacker));
  for (const name of ["Mine one", "Mine two"]) await attackerApi.features.create({ name });
});
afterAll(async () => {
  await server?.close();
  await testDb?.drop();
});

const victimSnapshot = () =>
  services.db.prisma.feature.findMany({ where: { organizationId: victim }, orderBy: { id: "asc" } });

/** Strings a fuzzer should try: unicode, NUL bytes, huge, SQL and LIKE metacharacters. */
const nastyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.constantFrom("\u0000", "a\u0000b", "name\u0000", "%", "_", "\\", "' OR 1=1 --", "\uD800", "🚩🚩", "a".repeat(5000), "x".repeat(100_000)),
);
const protoKeys = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty");
const pollutedObject = fc
  .tuple(protoKeys, fc.anything())
  .map(([key, value]) => JSON.parse(`{"${key}": ${JSON.stringify({ polluted: value ?? 1 }) ?? "1"}, "name": "ok name"}`) as unknown);
const anyInput = fc.oneof(
  fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, maxDepth: 4 }),
  pollutedObject,
  nastyString,
);
const uuidish = fc.oneof(fc.uuid(), nastyString, fc.constantFrom(...["00000000-0000-0000-0000-000000000000"]));
const status = fc.oneof(fc.constantFrom("ACTIVE", "INACTIVE"), nastyString);
const structured = {
  "features.create": fc.record({ name: nastyString, description: fc.option(nastyString), status }, { requiredKeys: [] }),
  "features.list": fc.record(
    { page: fc.oneof(fc.integer(), fc.double()), limit: fc.oneof(fc.integer(), fc.double()), search: nastyString, status },
    { requiredKeys: [] },
  ),
  "features.byId": fc.record({ id: uuidish }),
  "features.update": fc.record({
    id: uuidish,
    expectedUpdatedAt: fc.option(fc.oneof(nastyString, fc.date({ noInvalidDate: true }).map((d) => d.toISOString()))),
    data: fc.record({ name: nastyString, description: fc.option(nastyString), status }, { requiredKeys: [] }),
  }),
  "features.delete": fc.record({ id: uuidish }),
} as const;

type ProcedureName = keyof typeof structured;
const procedures = Object.keys(structured) as ProcedureName[];
const ALLOWED = new Set(["BAD_REQUEST", "NOT_FOUND", "CONFLICT"]);

async function call(procedure: ProcedureName, input: unknown): Promise<string> {
  const api = callerFor(services, tokenFor("mallory", attacker));
  const [group, name] = procedure.split(".") as ["features", "create" | "list" | "byId" | "update" | "delete"];
  try {
    await (api[group][name] as (input: unknown) => Promise<unknown>)(input);
    return "ok";
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

describe("every procedure, random input through createCaller", () => {
  it.each(procedures)("%s never fails with anything but a client error", async (procedure) => {
    const before = await victimSnapshot();
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyInput, structured[procedure]), async (input) => {
        const outcome = await call(procedure, input);
        expect(outcome === "ok" || ALLOWED.has(outcome), `${procedure}(${fc.stringify(input).slice(0, 200)}) -> ${outcome}`).toBe(true);
      }),
      { numRuns: 150 },
    );
    expect(await victimSnapshot()).toEqual(before);
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("the victim's ids, attacked directly with random changes, are never found or changed", async () => {
    const before = await victimSnapshot();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...victimIds), structured["features.update"], fc.constantFrom("byId", "update", "delete"), async (id, input, verb) => {
        const outcome = await call(`features.${verb}` as ProcedureName, { ...input, id });
        expect(["NOT_FOUND", "BAD_REQUEST"]).toContain(outcome);
      }),
      { numRuns: 150 },
    );
    expect(await victimSnapshot()).toEqual(before);
  });
});

describe("random bodies over HTTP", () => {
  it("never get a 500 and never stop the server", async () => {
    const token = tokenFor("mallory", attacker);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...procedures, "auth.me", "features.nope", "features.create,features.list"),
        fc.oneof(fc.string({ unit: "binary" }), anyInput.map((v) => { try { return JSON.stringify(v) ?? "null"; } catch { return "{}"; } })),
        fc.boolean(),
        async (path, body, batch) => {
          const res = await fetch(`${server.url}/trpc/${path}${batch ? "?batch=1" : ""}`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body,
          });
          await res.text();
          expect(res.status, `${path} ${body.slice(0, 200)}`).toBeLessThan(500);
        },
      ),
      { numRuns: 200 },
    );
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});
