/**
 * Property-based: random and adversarial inputs thrown at every procedure (through createCaller and over
 * HTTP) never produce a 500, never crash, never pollute prototypes, never touch another organization.
 */
import { TRPCError } from "@trpc/server";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { sqlIdentifier } from "../../server/kit/scope.js";
import { Prisma } from "../../server/generated/prisma/client.js";
import { callerFor, testConfig, tokenFor } from "../support/app.js";
import { everyResource, FULL_ACCESS_ROLE, useTestApp } from "../support/fixtures.js";
import type { TestOrg } from "../support/fixtures.js";

const t = useTestApp({ config: testConfig({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0" }), server: true });
const attacker = "org-attacker";
const victim = "org-victim";
const victimIds: string[] = [];
const asOrg = (org: string, sub: string): TestOrg => ({
  org,
  sub,
  token: tokenFor(sub, org),
  actor: { sub, organizationId: org, role: "member" },
  api: callerFor(t.deps, tokenFor(sub, org)),
  as: (other) => callerFor(t.deps, tokenFor(other, org)),
});

beforeAll(async () => {
  const victimApi = callerFor(t.deps, tokenFor("vic", victim));
  for (const name of ["Victim one", "Victim two", "Victim 100%"]) victimIds.push((await victimApi.features.create({ name })).id);
  // Every other resource gets victim rows too, and the attacker owns a few rows of each, so updates and
  // deletes of its own ids run as well.
  for (const [key] of everyResource) {
    if (key !== "features") await t.seed(key, asOrg(victim, "vic"), 2);
    await t.seed(key, asOrg(attacker, "mallory"), 2);
  }
});

/** Every row of the victim organization, in every resource's table, as stored. */
const victimSnapshot = () =>
  Promise.all(
    everyResource.map(([, resource]) =>
      t.deps.db.prisma.$queryRaw<unknown[]>(
        Prisma.sql`SELECT * FROM ${sqlIdentifier(resource.storage.table)} WHERE organization_id = ${victim} ORDER BY id`,
      ),
    ),
  );

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
/** A field's valid values (from the resource's example) mixed with hostile ones. */
const fieldValue = (valid: unknown) => fc.oneof(fc.constant(valid), nastyString, fc.anything({ maxDepth: 1 }));

/** Inputs shaped like each procedure's, for every registered resource. */
const structured = Object.fromEntries(
  everyResource.flatMap(([key, resource]) => {
    const fields = Object.fromEntries(Object.entries(resource.example).map(([field, valid]) => [field, fieldValue(valid)]));
    const data = fc.record(fields, { requiredKeys: [] });
    return [
      [`${key}.create`, data],
      [
        `${key}.list`,
        fc.record({ page: fc.oneof(fc.integer(), fc.double()), limit: fc.oneof(fc.integer(), fc.double()), search: nastyString, ...fields }, { requiredKeys: [] }),
      ],
      [`${key}.byId`, fc.record({ id: uuidish })],
      [
        `${key}.update`,
        fc.record({ id: uuidish, expectedUpdatedAt: fc.option(fc.oneof(nastyString, fc.date({ noInvalidDate: true }).map((d) => d.toISOString()))), data }),
      ],
      [`${key}.delete`, fc.record({ id: uuidish })],
    ];
  }),
) as Record<string, fc.Arbitrary<Record<string, unknown>>>;

const procedures = Object.keys(structured);
const ALLOWED = new Set(["BAD_REQUEST", "NOT_FOUND", "CONFLICT"]);

async function call(procedure: string, input: unknown): Promise<string> {
  // The attacker holds every role a resource's policy asks for: a refusal is never what stops the input.
  const api: Record<string, unknown> = callerFor(t.deps, tokenFor("mallory", attacker, { role: FULL_ACCESS_ROLE }));
  const [group = "", name = ""] = procedure.split(".");
  try {
    await (api[group] as Record<string, (input: unknown) => Promise<unknown>>)[name]?.(input);
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
      fc.asyncProperty(fc.oneof(anyInput, structured[procedure] ?? anyInput), async (input) => {
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
      fc.asyncProperty(fc.constantFrom(...victimIds), structured["features.update"] ?? fc.record({}), fc.constantFrom("byId", "update", "delete"), async (id, input, verb) => {
        const outcome = await call(`features.${verb}`, { ...input, id });
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
          const res = await fetch(`${t.server.url}/trpc/${path}${batch ? "?batch=1" : ""}`, {
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
    expect((await fetch(`${t.server.url}/health`)).status).toBe(200);
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});
