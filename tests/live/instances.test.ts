/**
 * Live updates across instances (acceptance 1): two service processes (`npm start`'s command line) on one
 * PostgreSQL of the test's own, which the test also restarts. Changes go in through one process over HTTP;
 * the subscriber listens on the other, through the real client over SSE.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKuarkClient } from "../../client/src/index.js";
import type { KuarkClient } from "../../client/src/index.js";
import { applyMigrations } from "../../server/db/schema-engine.js";
import { rawToken, tokenFor } from "../support/app.js";
import { expectIncreasingIds, rawStream, subscribeToFeatures, summary } from "../support/live.js";
import { createCluster } from "../support/postgres-cluster.js";
import type { Cluster } from "../support/postgres-cluster.js";
import { startServiceProcess, stopServiceProcess } from "../support/service-process.js";
import type { ServiceProcess } from "../support/service-process.js";

let cluster: Cluster;
let listener: ServiceProcess;
let writer: ServiceProcess;

beforeAll(async () => {
  cluster = await createCluster();
  await applyMigrations(new PrismaPg({ connectionString: cluster.url }));
  const env = { DATABASE_URL: cluster.url, RATE_LIMIT_PER_IP: "0", SHUTDOWN_DRAIN_MS: "200", DATABASE_CONNECT_TIMEOUT_MS: "1000" };
  [listener, writer] = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
}, 120_000);
afterAll(async () => {
  for (const service of [listener, writer]) if (service && service.child.exitCode === null) await stopServiceProcess(service, "SIGKILL");
  await cluster?.destroy();
});

let orgs = 0;
function newOrg(sub = "alice"): { org: string; token: string; api: KuarkClient } {
  const org = `instances-${process.pid}-${++orgs}`;
  const token = tokenFor(sub, org);
  return { org, token, api: createKuarkClient({ url: `${writer.url}/trpc`, getToken: () => token }) };
}

describe("onChange across two instances on one PostgreSQL", () => {
  it("a subscriber on one instance receives, in order and within 1 s, exactly its organization's changes made through the other", async () => {
    const owner = newOrg();
    const stranger = newOrg("mallory");
    const subscriber = subscribeToFeatures(listener.url, owner.token);
    await subscriber.waitStarted();
    const started = Date.now();
    const feature = await owner.api.features.create.mutate({ name: "Made elsewhere" });
    await subscriber.waitForChanges(1, 1_000);
    const latency = Date.now() - started;
    await stranger.api.features.create.mutate({ name: "Someone else's" });
    await owner.api.features.update.mutate({ id: feature.id, data: { status: "INACTIVE" } });
    await owner.api.features.delete.mutate({ id: feature.id });
    await subscriber.waitForChanges(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(summary(subscriber.changes)).toEqual([
      ["created", feature.id],
      ["updated", feature.id],
      ["deleted", feature.id],
    ]);
    expectIncreasingIds(subscriber.changes);
    expect(subscriber.changes.every((c) => c.feature.organizationId === owner.org)).toBe(true);
    expect(latency).toBeLessThan(1_000);
    subscriber.stop();
  });

  it("after a disconnect, a change made meanwhile arrives on resubscribe with lastEventId, once", async () => {
    const owner = newOrg();
    const first = subscribeToFeatures(listener.url, owner.token);
    await first.waitStarted();
    await owner.api.features.create.mutate({ name: "Seen" });
    const [seen] = await first.waitForChanges(1);
    first.stop();
    const missed = await owner.api.features.create.mutate({ name: "Missed" });
    const resumed = subscribeToFeatures(listener.url, owner.token, { lastEventId: seen?.id });
    await resumed.waitForChanges(1);
    const live = await owner.api.features.create.mutate({ name: "Live again" });
    await resumed.waitForChanges(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(summary(resumed.changes)).toEqual([
      ["created", missed.id],
      ["created", live.id],
    ]);
    resumed.stop();
  });

  it("refuses no token with UNAUTHORIZED, and ends a stream with UNAUTHORIZED when its token expires", async () => {
    expect((await subscribeToFeatures(listener.url, undefined).waitForError()).code).toBe("UNAUTHORIZED");
    const owner = newOrg();
    const expiring = subscribeToFeatures(listener.url, rawToken({ sub: "alice", organization_id: owner.org, exp: Math.floor(Date.now() / 1000) + 2 }));
    await expiring.waitStarted();
    expect(expiring.error).toBeUndefined();
    expect((await expiring.waitForError(6_000)).code).toBe("UNAUTHORIZED");
  });

  it("sends nothing for a failed write", async () => {
    const owner = newOrg();
    const feature = await owner.api.features.create.mutate({ name: "Once" });
    await owner.api.features.update.mutate({ id: feature.id, data: { name: "Twice" } });
    const subscriber = subscribeToFeatures(listener.url, owner.token);
    await subscriber.waitStarted();
    await expect(owner.api.features.update.mutate({ id: feature.id, expectedUpdatedAt: feature.updatedAt, data: { name: "Stale" } })).rejects.toThrow();
    await owner.api.features.update.mutate({ id: feature.id, data: { name: "Thrice" } });
    await subscriber.waitForChanges(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(subscriber.changes.map((c) => c.feature.name)).toEqual(["Thrice"]);
    subscriber.stop();
  });

  it("the listener recovers after the database restarts: changes made after it arrive", async () => {
    const owner = newOrg();
    const subscriber = subscribeToFeatures(listener.url, owner.token);
    await subscriber.waitStarted();
    await cluster.stop();
    await cluster.start();
    // The writer's pool reconnects on its own; retry until the database answers it again.
    let feature: Awaited<ReturnType<typeof owner.api.features.create.mutate>> | undefined;
    for (let attempt = 0; attempt < 50 && !feature; attempt++) {
      feature = await owner.api.features.create.mutate({ name: "After the restart" }).catch(() => undefined);
      if (!feature) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(feature).toBeDefined();
    await subscriber.waitForChanges(1, 10_000);
    expect(summary(subscriber.changes)).toEqual([["created", feature?.id]]);
    // And it stays live for the next one.
    const next = await owner.api.features.create.mutate({ name: "Still live" });
    await subscriber.waitForChanges(2);
    expect(subscriber.changes[1]?.feature.id).toBe(next.id);
    // Its dedicated connection was lost with the database, and it listened again by itself.
    expect(listener.output()).toContain("change listener: listening again");
    subscriber.stop();
  }, 60_000);

  it("SIGTERM ends open streams (SERVICE_UNAVAILABLE: clients reconnect elsewhere) and the process exits 0", async () => {
    const owner = newOrg();
    const stream = rawStream(listener.url, { authorization: `Bearer ${owner.token}` });
    await stream.waitFor("event: connected");
    const code = stopServiceProcess(listener);
    await stream.ended;
    expect(stream.text).toContain('"code":"SERVICE_UNAVAILABLE"');
    expect(await code).toBe(0);
    expect(listener.output()).toContain("stopped");
  });
});
