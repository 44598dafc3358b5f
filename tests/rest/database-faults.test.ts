/**
 * The database goes away under a running service: REST calls answer 503 with `detail` (the same mapping
 * as tRPC's SERVICE_UNAVAILABLE), and recover by themselves when the database returns.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "../support/app.js";
import { useServiceOnStoppableDatabase } from "../support/stoppable-database.js";
import { DocumentedApi } from "./documented-api.js";

const { cluster, server } = useServiceOnStoppableDatabase();
let api: DocumentedApi;
const token = tokenFor("alice", "rest-faults");

beforeAll(async () => {
  api = await DocumentedApi.load(server.url);
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
