/**
 * The database goes away under a running service: REST calls answer 503 with `detail` (the same mapping
 * as tRPC's SERVICE_UNAVAILABLE), and recover by themselves when the database returns.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectPostgres } from "../../server/db/database.js";
import type { Database } from "../../server/db/database.js";
import { applyMigrations } from "../../server/db/schema-engine.js";
import { makeDependencies, startServer, testConfig, tokenFor } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createCluster } from "../support/postgres-cluster.js";
import type { Cluster } from "../support/postgres-cluster.js";
import { DocumentedApi } from "./documented-api.js";

let cluster: Cluster;
let db: Database;
let server: RunningServer;
let api: DocumentedApi;
const token = tokenFor("alice", "rest-faults");

beforeAll(async () => {
  cluster = await createCluster();
  await applyMigrations(new PrismaPg({ connectionString: cluster.url }));
  db = connectPostgres(cluster.url, { poolSize: 4, connectTimeoutMs: 1_000, statementTimeoutMs: 1_000 });
  server = await startServer(makeDependencies(db, { config: testConfig({ RATE_LIMIT_PER_IP: "0" }) }));
  api = await DocumentedApi.load(server.url);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await db?.close().catch(() => {});
  await cluster?.destroy();
});

describe("database down", () => {
  it("503 with detail on read and write, then back to 200 by itself", async () => {
    const created = await api.call<{ id: string }>("POST", "/api/v1/features", { token, body: { name: "Before the outage" } });
    expect(created.status).toBe(201);

    await cluster.stop();
    const list = await api.call<{ detail: string }>("GET", "/api/v1/features", { token });
    expect(list.status).toBe(503);
    expect(list.body.detail).toMatch(/database is unavailable/i);
    expect((await api.call("GET", `/api/v1/features/${created.body.id}`, { token })).status).toBe(503);
    expect((await api.call("POST", "/api/v1/features", { token, body: { name: "During the outage" } })).status).toBe(503);

    await cluster.start();
    let recovered = 0;
    for (let i = 0; i < 40 && recovered !== 200; i++) {
      recovered = (await api.call("GET", `/api/v1/features/${created.body.id}`, { token })).status;
      if (recovered !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(recovered).toBe(200);
  });
});
