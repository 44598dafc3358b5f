/**
 * `features.onChange` in one process (acceptance 2): embedded PGlite without TEST_DATABASE_URL (its own
 * `listen`), PostgreSQL with it. A real listening server, the real client over SSE.
 */
import { describe, expect, it } from "vitest";
import { memoryLogger, rawToken, testConfig } from "../support/app.js";
import { rejection, useTestApp } from "../support/fixtures.js";
import { expectIncreasingIds, rawStream, subscribeToFeatures, summary } from "../support/live.js";

const { log, lines } = memoryLogger("info");
const t = useTestApp({ server: true, config: testConfig({ SUBSCRIPTIONS_PER_IP: "20", LOG_LEVEL: "info" }), log });

describe("features.onChange", () => {
  it("delivers exactly the caller's organization's created, updated and deleted, in order", async () => {
    const owner = t.newOrg("alice");
    const stranger = t.newOrg("mallory");
    const subscriber = subscribeToFeatures(t.server.url, owner.token);
    await subscriber.waitStarted();
    const feature = await owner.api.features.create({ name: "Dark mode" });
    await stranger.api.features.create({ name: "Not yours" });
    const updated = await owner.as("bob").features.update({ id: feature.id, data: { status: "INACTIVE" } });
    await owner.api.features.delete({ id: feature.id });
    const changes = await subscriber.waitForChanges(3);
    await new Promise((resolve) => setTimeout(resolve, 200)); // anything extra would arrive by now
    expect(summary(subscriber.changes)).toEqual([
      ["created", feature.id],
      ["updated", feature.id],
      ["deleted", feature.id],
    ]);
    expectIncreasingIds(changes);
    expect(changes[0]?.feature).toEqual(feature);
    expect(changes[1]?.feature).toEqual(updated);
    // For `deleted`: the feature as it was.
    expect(changes[2]?.feature).toEqual(updated);
    subscriber.stop();
  });

  it("after a disconnect, resumes from lastEventId: the change made meanwhile arrives once", async () => {
    const owner = t.newOrg();
    const first = subscribeToFeatures(t.server.url, owner.token);
    await first.waitStarted();
    const a = await owner.api.features.create({ name: "Before the disconnect" });
    const [seen] = await first.waitForChanges(1);
    first.stop();
    const b = await owner.api.features.create({ name: "While away" });
    const resumed = subscribeToFeatures(t.server.url, owner.token, { lastEventId: seen?.id });
    await resumed.waitForChanges(1);
    const c = await owner.api.features.create({ name: "After the resume" });
    await resumed.waitForChanges(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(summary(resumed.changes)).toEqual([
      ["created", b.id],
      ["created", c.id],
    ]);
    expect(resumed.changes.map((e) => e.feature.id)).not.toContain(a.id);
    resumed.stop();
  });

  it("an event whose notification never arrived comes with the next one, in order (no resync needed)", async () => {
    const owner = t.newOrg();
    const subscriber = subscribeToFeatures(t.server.url, owner.token);
    await subscriber.waitStarted();
    const a = await owner.api.features.create({ name: "Notified" });
    const [created] = await subscriber.waitForChanges(1);
    // An event committed without its notification reaching this process (what a LISTEN connection that drops,
    // or a listener that listens again past what its predecessor read, misses): the change log row alone.
    const [unnotified] = await t.testDb.db.prisma.$queryRaw<{ id: bigint }[]>`
      INSERT INTO change_events (organization_id, resource, entity_id, type, actor_id, changes, entity)
      SELECT organization_id, resource, entity_id, 'updated', actor_id, '{}'::jsonb, entity FROM change_events WHERE id = ${BigInt(created?.id ?? "0")}
      RETURNING id`;
    const b = await owner.api.features.create({ name: "Notified after it" });
    await subscriber.waitForChanges(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(summary(subscriber.changes)).toEqual([
      ["created", a.id],
      ["updated", a.id],
      ["created", b.id],
    ]);
    expect(subscriber.changes[1]?.id).toBe(String(unnotified?.id));
    expectIncreasingIds(subscriber.changes);
    subscriber.stop();
  });

  it("filters by status and search, before or after the change", async () => {
    const owner = t.newOrg();
    const active = subscribeToFeatures(t.server.url, owner.token, { status: "ACTIVE", search: "beta" });
    await active.waitStarted();
    const inactive = await owner.api.features.create({ name: "Beta inactive", status: "INACTIVE" });
    const other = await owner.api.features.create({ name: "Gamma", status: "ACTIVE" });
    const wanted = await owner.api.features.create({ name: "Beta active", status: "ACTIVE" });
    // Leaves the filtered list: still delivered, so the list can drop it.
    await owner.api.features.update({ id: wanted.id, data: { status: "INACTIVE" } });
    await active.waitForChanges(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(summary(active.changes)).toEqual([
      ["created", wanted.id],
      ["updated", wanted.id],
    ]);
    expect(active.changes.map((c) => c.feature.id)).not.toContain(inactive.id);
    expect(active.changes.map((c) => c.feature.id)).not.toContain(other.id);
    active.stop();
  });

  it("answers a stream only once it is positioned (tRPC writes `connected` after that answer): a write right after it arrives", async () => {
    const owner = t.newOrg();
    const signal = new AbortController();
    for (let round = 0; round < 3; round++) {
      // The service's answer, before anything iterates it: the write below commits before the stream's first read.
      const stream = await t.deps.resourceServices.features.onChange(owner.actor, undefined, { ip: "127.0.0.1", expiresAt: undefined, signal: signal.signal });
      const written = await owner.api.features.create({ name: `Right after the answer ${round}` });
      const first = await Promise.race([stream.next(), new Promise<"nothing">((resolve) => setTimeout(() => resolve("nothing"), 3_000))]);
      expect(first === "nothing" ? first : first.value?.[0]).toBe((await owner.api.features.history({ id: written.id })).items[0]?.id);
      await stream.return();
    }
    signal.abort();
  });

  it("sends no event for a write that failed", async () => {
    const owner = t.newOrg();
    const feature = await owner.api.features.create({ name: "Conflicted" });
    await owner.api.features.update({ id: feature.id, data: { name: "Changed once" } });
    const subscriber = subscribeToFeatures(t.server.url, owner.token);
    await subscriber.waitStarted();
    expect((await rejection(owner.api.features.update({ id: feature.id, expectedUpdatedAt: feature.updatedAt, data: { name: "Stale" } }))).code).toBe("CONFLICT");
    await owner.api.features.update({ id: feature.id, data: { name: "Changed twice" } });
    await subscriber.waitForChanges(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(subscriber.changes.map((c) => c.feature.name)).toEqual(["Changed twice"]);
    subscriber.stop();
  });

  it("refuses a subscription without a valid token with UNAUTHORIZED", async () => {
    const none = subscribeToFeatures(t.server.url, undefined);
    expect((await none.waitForError()).code).toBe("UNAUTHORIZED");
    const forged = subscribeToFeatures(t.server.url, rawToken({ sub: "x", organization_id: "y" }, { expiresIn: 60 }, "another-secret-key-0123456789"));
    expect((await forged.waitForError()).code).toBe("UNAUTHORIZED");
  });

  it("ends the stream with UNAUTHORIZED when the token expires", async () => {
    const owner = t.newOrg();
    const shortLived = rawToken({ sub: owner.sub, organization_id: owner.org, exp: Math.floor(Date.now() / 1000) + 2 });
    const subscriber = subscribeToFeatures(t.server.url, shortLived);
    await subscriber.waitStarted();
    expect(subscriber.error).toBeUndefined();
    const error = await subscriber.waitForError(6_000);
    expect(error.code).toBe("UNAUTHORIZED");
  });

  it("accepts the token from the Authorization header (EventSource ponyfills), and never logs a token", async () => {
    const owner = t.newOrg();
    const stream = rawStream(t.server.url, { authorization: `Bearer ${owner.token}` });
    await stream.waitFor("event: connected");
    expect(stream.status).toBe(200);
    const feature = await owner.api.features.create({ name: "Over the header" });
    await stream.waitFor(feature.id);
    stream.abort();
    // The client's connectionParams put the token in the URL: the request log must not carry it.
    const subscriber = subscribeToFeatures(t.server.url, owner.token);
    await subscriber.waitStarted();
    subscriber.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logged = lines.join("\n");
    expect(logged).toContain("connectionParams=[redacted]");
    expect(logged).not.toContain(owner.token);
  });

  it("refuses a lastEventId past retention with PRECONDITION_FAILED (EVENTS_EXPIRED)", async () => {
    const owner = t.newOrg();
    const subscriber = subscribeToFeatures(t.server.url, owner.token);
    await subscriber.waitStarted();
    await owner.api.features.create({ name: "Old news" });
    const [old] = await subscriber.waitForChanges(1);
    subscriber.stop();
    await t.deps.db.prisma.changeEvent.update({ where: { id: BigInt(old!.id) }, data: { createdAt: new Date(Date.now() - 200 * 3_600_000) } });
    const late = subscribeToFeatures(t.server.url, owner.token, { lastEventId: old!.id });
    const error = await late.waitForError();
    expect(error.code).toBe("PRECONDITION_FAILED");
    expect(error.message).toContain("EVENTS_EXPIRED");
    const unknown = subscribeToFeatures(t.server.url, owner.token, { lastEventId: "999999999999" });
    expect((await unknown.waitForError()).code).toBe("PRECONDITION_FAILED");
  });

  it("limits open subscriptions per IP (TOO_MANY_REQUESTS, 429), and frees the slot when one ends", async () => {
    const owner = t.newOrg();
    const open = Array.from({ length: 20 }, () => subscribeToFeatures(t.server.url, owner.token));
    await Promise.all(open.map((s) => s.waitStarted()));
    expect(open.filter((s) => s.error).length).toBe(0);
    const over = rawStream(t.server.url, { authorization: `Bearer ${owner.token}` });
    await over.waitFor("serialized-error");
    expect(over.text).toContain('"code":"TOO_MANY_REQUESTS"');
    expect(over.text).toContain('"httpStatus":429');
    open[0]?.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = subscribeToFeatures(t.server.url, owner.token);
    await again.waitStarted();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(again.error).toBeUndefined();
    again.stop();
    for (const s of open) s.stop();
    // The server frees each slot when it sees its client go.
    for (let i = 0; i < 200 && t.deps.changeHub.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(t.deps.changeHub.open).toBe(0);
  });

  it("ends open streams with SERVICE_UNAVAILABLE (clients retry elsewhere) when the process shuts down", async () => {
    const owner = t.newOrg();
    const stream = rawStream(t.server.url, { authorization: `Bearer ${owner.token}` });
    await stream.waitFor("event: connected");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.deps.changeHub.close();
    await stream.ended;
    expect(stream.text).toContain('"code":"SERVICE_UNAVAILABLE"');
  });
});
