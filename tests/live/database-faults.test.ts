/**
 * The database goes away under open live streams (a PostgreSQL cluster of the test's own, stopped and
 * started): `onChange` answers SERVICE_UNAVAILABLE, as queries do, both to a new stream and inside an open
 * one; tRPC's client retries by itself and, once the database is back, resumes from its last event: every
 * change exactly once. A stream whose client has no event id yet is not ended (a retry would start afresh):
 * it catches up from the change log. No transient fault is logged at error level.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import { createKuarkClient } from "../../client/src/index.js";
import type { Feature } from "../../client/src/index.js";
import { memoryLogger, tokenFor } from "../support/app.js";
import { expectIncreasingIds, rawStream, subscribeToFeatures, summary } from "../support/live.js";
import { useServiceOnStoppableDatabase } from "../support/stoppable-database.js";

const { log, lines } = memoryLogger("debug");
const { cluster, server } = useServiceOnStoppableDatabase({ log });
const token = tokenFor("alice", "live-faults");
const authorization = { authorization: `Bearer ${token}` };

/** The code of the `serialized-error` a raw stream ended with, if it ended with one. */
function errorCodeOf(text: string): string | undefined {
  const data = /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1];
  return data === undefined ? undefined : (JSON.parse(data) as { data: { code: string } }).data.code;
}

describe("onChange while the database is down", () => {
  it("answers SERVICE_UNAVAILABLE on open and inside an open stream; the client resumes from its last event once the database is back, and a stream without one waits and catches up", async () => {
    const api = createKuarkClient({ url: `${server.url}/trpc`, getToken: () => token });
    const subscriber = subscribeToFeatures(server.url, token);
    onTestFinished(() => subscriber.stop());
    await subscriber.waitStarted();
    const before = await api.features.create.mutate({ name: "Before the outage" });
    const [first] = await subscriber.waitForChanges(1);
    // A subscriber with no event id to resume from (it has heard nothing yet).
    const quiet = subscribeToFeatures(server.url, token);
    onTestFinished(() => quiet.stop());
    await quiet.waitStarted();
    const open = rawStream(server.url, { ...authorization, "last-event-id": first?.id ?? "" });
    onTestFinished(() => open.abort());
    await open.waitFor("event: connected");

    await cluster.stop();
    // On open, fresh and resuming.
    const fresh = rawStream(server.url, authorization);
    onTestFinished(() => fresh.abort());
    await fresh.waitFor("event: serialized-error", 10_000);
    expect(fresh.status).toBe(200);
    expect(errorCodeOf(fresh.text)).toBe("SERVICE_UNAVAILABLE");
    const resuming = rawStream(server.url, { ...authorization, "last-event-id": first?.id ?? "" });
    onTestFinished(() => resuming.abort());
    await resuming.waitFor("event: serialized-error", 10_000);
    expect(errorCodeOf(resuming.text)).toBe("SERVICE_UNAVAILABLE");
    // Inside an open stream with an event id: it ends, with the database's fault, rather than staying open and deaf.
    await open.waitFor("event: serialized-error", 10_000);
    await open.ended;
    expect(errorCodeOf(open.text)).toBe("SERVICE_UNAVAILABLE");
    // The typed client heard the same, and keeps retrying rather than giving up.
    for (let i = 0; i < 100 && !subscriber.retried.some((error) => error.code === "SERVICE_UNAVAILABLE"); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(subscriber.retried.map((error) => error.code).filter((code) => code !== undefined)).toContain("SERVICE_UNAVAILABLE");
    expect(subscriber.error).toBeUndefined();

    await cluster.start();
    let during: Feature | undefined;
    for (let attempt = 0; attempt < 50 && !during; attempt++) {
      during = await api.features.create.mutate({ name: "Right after the outage" }).catch(() => undefined);
      if (!during) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(during).toBeDefined();
    await subscriber.waitForChanges(2, 15_000);
    const after = await api.features.create.mutate({ name: "Live again" });
    await subscriber.waitForChanges(3, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(summary(subscriber.changes)).toEqual([
      ["created", before.id],
      ["created", during?.id],
      ["created", after.id],
    ]);
    expectIncreasingIds(subscriber.changes);
    // The one without an event id was not ended (a retry would have started afresh, after what committed
    // meanwhile): it caught up from the change log once the database was back.
    await quiet.waitForChanges(2, 10_000);
    expect(summary(quiet.changes)).toEqual([
      ["created", during?.id],
      ["created", after.id],
    ]);
    expect(quiet.retried.filter((error) => error.code !== undefined)).toEqual([]);
    expect(subscriber.retried.filter((error) => error.code !== undefined && error.code !== "SERVICE_UNAVAILABLE")).toEqual([]);
    expect(subscriber.error).toBeUndefined();
    subscriber.stop();

    // Warnings, not error-level lines with a stack.
    expect(lines.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
    expect(lines.some((line) => line.includes("the database is unavailable; open streams with an event id end with SERVICE_UNAVAILABLE"))).toBe(true);
  }, 90_000);
});
