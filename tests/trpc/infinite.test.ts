/**
 * `features.infinite` (keyset pages for infinite scroll) and the count strategy of `features.list`,
 * through `createCaller` against a real database of the test's own.
 */
import { TRPCError } from "@trpc/server";
import type { ZodError } from "zod";
import { describe, expect, it } from "vitest";
import type { Feature, FeatureInfiniteInput } from "../../server/contract/index.js";
import { EXACT_COUNT_LIMIT } from "../../server/kit/listing.js";
import { callerFor } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";

const t = useTestApp();

const newOrg = () => t.newOrg("alice");
type Api = ReturnType<typeof newOrg>["api"];

/**
 * Inserts `count` features in one statement, `sameInstant` of them sharing each created_at (ties
 * that only the id breaks), names `<prefix> <n>`, every `inactiveEvery`-th INACTIVE.
 */
async function seed(org: string, count: number, options: { prefix?: string; sameInstant?: number; inactiveEvery?: number } = {}) {
  const { prefix = "Seeded", sameInstant = 1, inactiveEvery = 0 } = options;
  await t.deps.organizations.ensure(org);
  await t.deps.db.prisma.$executeRaw`
    INSERT INTO features (id, organization_id, name, status, created_by_id, updated_by_id, created_at, updated_at)
    SELECT gen_random_uuid(), ${org}, ${prefix} || ' ' || i,
           CASE WHEN ${inactiveEvery}::int > 0 AND i % ${inactiveEvery}::int = 0 THEN 'INACTIVE'::"FeatureStatus" ELSE 'ACTIVE'::"FeatureStatus" END,
           'seed', 'seed', ts, ts
    FROM generate_series(1, ${count}::int) AS i,
         LATERAL (SELECT timestamptz '2026-01-01' + ((i - 1) / ${sameInstant}::int) * interval '1 second' AS ts) AS t`;
}

/** Every page from the first to the one whose nextCursor is null; `between` runs after each page. */
async function walk(api: Api, input: Omit<FeatureInfiniteInput & object, "cursor">, between?: () => Promise<void>) {
  const pages: Feature[][] = [];
  let cursor: string | null = null;
  do {
    const page = await api.features.infinite({ ...input, cursor });
    pages.push(page.items);
    cursor = page.nextCursor;
    if (between) await between();
  } while (cursor !== null && pages.length < 1000);
  return pages;
}

/** The order `features.list` documents: createdAt, then id, both descending. */
function newestFirst(a: Feature, b: Feature) {
  return b.createdAt.localeCompare(a.createdAt) || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0);
}

describe("features.infinite", () => {
  it("pages through everything newest first, ties broken by id, each feature once", async () => {
    const { org, api } = newOrg();
    await seed(org, 53, { sameInstant: 4 });
    const pages = await walk(api, { limit: 10 });
    expect(pages.map((p) => p.length)).toEqual([10, 10, 10, 10, 10, 3]);
    const items = pages.flat();
    expect(new Set(items.map((f) => f.id)).size).toBe(53);
    expect(items).toEqual([...items].sort(newestFirst));
    // The same order as the numbered pages of features.list.
    const listed = await api.features.list({ limit: 100 });
    expect(items.map((f) => f.id)).toEqual(listed.data.map((f) => f.id));
  });

  it("ends with nextCursor null, also when the last page is exactly full", async () => {
    const { org, api } = newOrg();
    await seed(org, 6);
    const first = await api.features.infinite({ limit: 3 });
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await api.features.infinite({ limit: 3, cursor: first.nextCursor });
    expect(second.items).toHaveLength(3);
    expect(second.nextCursor).toBeNull();
    await expect(newOrg().api.features.infinite()).resolves.toEqual({ items: [], nextCursor: null });
  });

  it("has no duplicates and no gaps while features are created between pages", async () => {
    const { org, api } = newOrg();
    await seed(org, 40, { sameInstant: 3 });
    const before = (await api.features.list({ limit: 100 })).data.map((f) => f.id);
    let created = 0;
    const pages = await walk(api, { limit: 7 }, async () => {
      // New features are newer than every cursor: they belong before page 1, never in a later page.
      await api.features.create({ name: `Arrived while scrolling ${++created}` });
    });
    const seen = pages.flat().map((f) => f.id);
    expect(seen).toEqual(before);
    expect(created).toBe(pages.length);
  });

  it("skips deleted features, including the one a cursor points at", async () => {
    const { org, api } = newOrg();
    await seed(org, 9);
    const first = await api.features.infinite({ limit: 3 });
    const last = first.items.at(-1);
    expect(last).toBeDefined();
    await api.features.delete({ id: last!.id });
    const rest = await walk(api, { limit: 3 });
    expect(rest.flat().map((f) => f.id)).not.toContain(last!.id);
    const next = await api.features.infinite({ limit: 3, cursor: first.nextCursor });
    expect(next.items.map((f) => f.name)).toEqual(["Seeded 6", "Seeded 5", "Seeded 4"]);
  });

  it("applies search and status to every page", async () => {
    const { org, api } = newOrg();
    await seed(org, 30, { prefix: "Alpha", inactiveEvery: 3 });
    await seed(org, 30, { prefix: "Beta", inactiveEvery: 3 });
    await api.features.create({ name: "alpha_1%" });

    const inactiveAlpha = (await walk(api, { limit: 4, search: "ALPHA", status: "INACTIVE" })).flat();
    expect(inactiveAlpha).toHaveLength(10);
    expect(inactiveAlpha.every((f) => f.name.startsWith("Alpha") && f.status === "INACTIVE")).toBe(true);
    expect(inactiveAlpha).toEqual([...inactiveAlpha].sort(newestFirst));

    const active = (await walk(api, { limit: 9, status: "ACTIVE" })).flat();
    expect(active).toHaveLength(41);
    // Wildcards mean themselves, as in features.list.
    expect((await walk(api, { search: "_1%" })).flat().map((f) => f.name)).toEqual(["alpha_1%"]);
  });

  it.each([
    ["a made-up cursor", { cursor: "page-2" }, "cursor"],
    ["a cursor with an impossible date", { cursor: "2026-13-45T00:00:00.000Z_1b4e28ba-2fa1-11d2-883f-0016d3cca427" }, "cursor"],
    ["a limit of 0", { limit: 0 }, "limit"],
    ["a limit of 101", { limit: 101 }, "limit"],
    ["backward paging", { direction: "backward" }, "direction"],
    ["an organizationId in the input", { organizationId: "other" }, ""],
  ])("refuses %s", async (_label, input, field) => {
    const error = await newOrg()
      .api.features.infinite(input as never)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("BAD_REQUEST");
    const issues = ((error as TRPCError).cause as ZodError).issues;
    expect(issues.map((i) => i.path.join("."))).toContain(field);
  });

  it("accepts what useInfiniteQuery sends: direction forward and a null cursor", async () => {
    const { org, api } = newOrg();
    await seed(org, 3);
    const page = await api.features.infinite({ limit: 2, cursor: null, direction: "forward" });
    expect(page.items).toHaveLength(2);
  });

  it("requires a valid token", async () => {
    const error = await callerFor(t.deps, undefined)
      .features.infinite()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as TRPCError).code).toBe("UNAUTHORIZED");
  });
});

describe("features.list count strategy", () => {
  it(`counts exactly up to ${EXACT_COUNT_LIMIT} matches and flags an estimate past that`, async () => {
    const { org, api } = newOrg();
    await seed(org, EXACT_COUNT_LIMIT, { inactiveEvery: 100 });
    const exact = await api.features.list({ limit: 20 });
    expect(exact.pagination).toEqual({ page: 1, limit: 20, total: EXACT_COUNT_LIMIT, totalPages: EXACT_COUNT_LIMIT / 20, totalIsEstimate: false });

    await seed(org, 500, { prefix: "More" });
    await t.deps.db.prisma.$executeRawUnsafe("ANALYZE features");
    const estimated = await api.features.list({ limit: 20 });
    expect(estimated.pagination.totalIsEstimate).toBe(true);
    // Never fewer than the rows counted before the count stopped; the planner's figure is near the truth.
    expect(estimated.pagination.total).toBeGreaterThan(EXACT_COUNT_LIMIT);
    expect(estimated.pagination.total).toBeLessThan(3 * (EXACT_COUNT_LIMIT + 500));
    expect(estimated.pagination.totalPages).toBe(Math.ceil(estimated.pagination.total / 20));
    expect(estimated.data).toHaveLength(20);

    // A filter that matches fewer rows is counted exactly again, in the same big organization.
    const filtered = await api.features.list({ status: "INACTIVE" });
    expect(filtered.pagination).toMatchObject({ total: EXACT_COUNT_LIMIT / 100, totalIsEstimate: false });
    const searched = await api.features.list({ search: "more 49" });
    expect(searched.pagination).toMatchObject({ total: 11, totalIsEstimate: false });
  });
});
