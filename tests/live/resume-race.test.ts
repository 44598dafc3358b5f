/**
 * The change log's promise while one organization's writes run at once (issue 22: writes of one
 * organization do not wait for each other's whole write, only for the event's statement and its commit):
 * a reader that keeps leaving and resuming from its `lastEventId` while 16 writers create, update and delete
 * in the same organization misses nothing and sees nothing twice. A real listening server, the real client
 * over SSE; embedded PGlite without TEST_DATABASE_URL, PostgreSQL with it.
 */
import { describe, expect, it } from "vitest";
import { testConfig } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";
import { subscribeToFeatures } from "../support/live.js";
import type { ReceivedChange } from "../support/live.js";

const t = useTestApp({ server: true, config: testConfig({ SUBSCRIPTIONS_PER_IP: "20" }) });

const WRITERS = 16;
const RESUMES = 12;

describe("features.onChange resumed again and again while one organization's writers race", () => {
  it("every event of the change log arrives exactly once, in the log's order, across the resumes", { timeout: 120_000 }, async () => {
    const owner = t.newOrg("alice");
    let writing = true;
    let acknowledged = 0;
    const writer = async (n: number) => {
      for (let round = 0; writing; round++) {
        const feature = await owner.api.features.create({ name: `Writer ${n} round ${round}` });
        await owner.api.features.update({ id: feature.id, data: { status: "INACTIVE" } });
        await owner.api.features.delete({ id: feature.id });
        acknowledged += 3;
        // A turn of the event loop between rounds: in-process PGlite answers without I/O, and the writers'
        // promises alone would never let the server's sockets and timers run.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, n) => writer(n));

    // The reader: a subscription that stops after a few events, then a new one from the last id it saw.
    const received: ReceivedChange[] = [];
    let lastEventId: string | null = null;
    try {
      for (let resume = 0; resume < RESUMES; resume++) {
        const subscriber = subscribeToFeatures(t.server.url, owner.token, lastEventId === null ? undefined : { lastEventId });
        await subscriber.waitStarted();
        await subscriber.waitForChanges(5 + resume * 3, 30_000);
        subscriber.stop();
        received.push(...subscriber.changes);
        lastEventId = received.at(-1)?.id ?? lastEventId;
        // Away a moment: writes go on meanwhile, and the next subscription must replay them.
        await new Promise((resolve) => setTimeout(resolve, 20 * resume));
      }
    } finally {
      writing = false;
      await Promise.all(writers);
    }

    // The first subscription began at the newest event of its moment; from there on, the reader must have
    // every event of the log: the last resume reads through to its end.
    const rows = await t.deps.db.prisma.$queryRaw<{ id: string }[]>`SELECT id::text AS id FROM change_events WHERE organization_id = ${owner.org} ORDER BY change_events.id`;
    const logged = rows.map((row) => row.id);
    const start = logged.indexOf(received[0]?.id ?? "");
    expect(start).toBeGreaterThanOrEqual(0);
    const expected = logged.slice(start);
    const last = subscribeToFeatures(t.server.url, owner.token, { lastEventId });
    await last.waitForChanges(expected.length - received.length, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a duplicate would arrive by now
    last.stop();
    received.push(...last.changes);

    const ids = received.map((change) => change.id);
    expect({ twice: ids.filter((id, i) => ids.indexOf(id) !== i), missing: expected.filter((id) => !ids.includes(id)) }).toEqual({ twice: [], missing: [] });
    expect(ids).toEqual(expected);
    expect(acknowledged).toBeGreaterThan(WRITERS * 3);
    expect(logged.length).toBe(acknowledged);
  });
});
