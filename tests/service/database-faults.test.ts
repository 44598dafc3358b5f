/**
 * The database goes away under a running service: calls fail fast with SERVICE_UNAVAILABLE (503),
 * readiness is 503, the process stays up, and everything recovers by itself when the database returns.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { tokenFor } from "../support/app.js";
import { useServiceOnStoppableDatabase } from "../support/stoppable-database.js";

const { cluster, server } = useServiceOnStoppableDatabase();
const headers = { authorization: `Bearer ${tokenFor("alice", "faults")}`, "content-type": "application/json" };

const list = () => fetch(`${server.url}/trpc/features.list`, { headers });
const create = (name: string) => fetch(`${server.url}/trpc/features.create`, { method: "POST", headers, body: JSON.stringify({ name }) });

describe("database faults", () => {
  it("down: 503 within a bounded time, readiness 503, liveness 200; back: recovers by itself", async () => {
    const before = await create("Before the outage");
    expect(before.status).toBe(200);

    await cluster.stop();
    const started = Date.now();
    const failed = await list();
    const elapsed = Date.now() - started;
    expect(failed.status).toBe(503);
    const body = (await failed.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe("SERVICE_UNAVAILABLE");
    expect(body.error.message).toMatch(/database is unavailable/i);
    expect(elapsed).toBeLessThan(5_000);
    expect((await create("During the outage")).status).toBe(503);
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(503);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    await cluster.start();
    let recovered = 0;
    for (let i = 0; i < 40 && recovered !== 200; i++) {
      recovered = (await list()).status;
      if (recovered !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(recovered).toBe(200);
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
    const names = ((await (await list()).json()) as { result: { data: { data: Array<{ name: string }> } } }).result.data.data.map((f) => f.name);
    expect(names).toEqual(["Before the outage"]);
  }, 60_000);

  it("a statement that runs past the statement timeout fails with 503, not a hung request", async () => {
    const locker = new pg.Client({ connectionString: cluster.url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE features IN ACCESS EXCLUSIVE MODE");
      const started = Date.now();
      const res = await list();
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      await locker.end();
    }
    expect((await list()).status).toBe(200);
  }, 30_000);
});
