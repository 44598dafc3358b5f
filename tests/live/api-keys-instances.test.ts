/**
 * API keys across two service processes (`npm start`'s command line) on one PostgreSQL of the test's own:
 * a key made through one is used on both, over tRPC, REST and a subscription with every header; revoked on
 * one, the other refuses it within 1 s (its cache dropped by the delete's change notification). Then every
 * JSON log line both processes wrote (debug level) is searched for any secret the test used.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../../server/db/schema-engine.js";
import { tokenFor } from "../support/app.js";
import { rawStream } from "../support/live.js";
import { createCluster } from "../support/postgres-cluster.js";
import type { Cluster } from "../support/postgres-cluster.js";
import { startServiceProcess, stopServiceProcess } from "../support/service-process.js";
import type { ServiceProcess } from "../support/service-process.js";

let cluster: Cluster;
let first: ServiceProcess;
let second: ServiceProcess;
/** Every secret the test sent, and its random part without `kuark_`. */
const secrets: string[] = [];

beforeAll(async () => {
  cluster = await createCluster();
  await applyMigrations(new PrismaPg({ connectionString: cluster.url }));
  const env = { DATABASE_URL: cluster.url, API_KEYS_ENABLED: "true", LOG_LEVEL: "debug", RATE_LIMIT_PER_IP: "0", METRICS_PORT: "0" };
  [first, second] = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
}, 120_000);
afterAll(async () => {
  for (const service of [first, second]) if (service && service.child.exitCode === null) await stopServiceProcess(service, "SIGKILL");
  await cluster?.destroy();
});

type Json = Record<string, unknown>;

async function call(service: ServiceProcess, path: string, headers: Record<string, string>, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${service.url}${path}`, {
    method: init.method ?? "GET",
    headers: { ...headers, ...(init.body !== undefined && { "content-type": "application/json" }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Json | undefined };
}

const org = `apikeys-instances-${process.pid}`;
const admin = { authorization: `Bearer ${tokenFor("ada", org, { role: "admin" })}` };

describe("an API key on two instances", () => {
  it("works on both with every header; revoked on one, refused on the other within 1 s; the change log names it", async () => {
    const created = await call(first, "/trpc/apiKeys.create", admin, { method: "POST", body: { name: "Shared", role: "member" } });
    const key = (created.body?.result as { data: { id: string; secret: string } }).data;
    secrets.push(key.secret, key.secret.slice("kuark_".length));
    const asKey: Record<string, string>[] = [{ authorization: `Bearer ${key.secret}` }, { "x-api-key": key.secret }];

    for (const service of [first, second]) {
      for (const headers of asKey) {
        expect((await call(service, "/trpc/auth.me", headers)).body).toEqual({ result: { data: { sub: `apikey:${key.id}`, organizationId: org, role: "member" } } });
        expect((await call(service, "/api/v1/features", headers)).status).toBe(200);
      }
    }
    // Subscriptions on the second instance, with each header and with connectionParams, see a change the key makes on the first.
    const params = `?connectionParams=${encodeURIComponent(JSON.stringify({ token: key.secret }))}`;
    const streams = [...asKey.map((headers) => rawStream(second.url, headers)), rawStream(second.url, {}, params)];
    for (const stream of streams) await stream.waitFor("event: connected");
    const made = await call(first, "/api/v1/features", { "x-api-key": key.secret }, { method: "POST", body: { name: "By the key" } });
    expect(made.body).toMatchObject({ created_by_id: `apikey:${key.id}` });
    for (const stream of streams) {
      await stream.waitFor("By the key");
      stream.abort();
    }
    const history = await call(second, `/trpc/features.history?input=${encodeURIComponent(JSON.stringify({ id: made.body?.id }))}`, admin);
    expect((history.body?.result as { data: { items: Json[] } }).data.items).toEqual([expect.objectContaining({ type: "created", actorId: `apikey:${key.id}` })]);

    // Both instances have the key cached now; revoke it on the first and watch the second.
    expect((await call(first, `/api/v1/api-keys/${key.id}`, admin, { method: "DELETE" })).status).toBe(204);
    const revokedAt = Date.now();
    let refusedAfter: number | undefined;
    while (refusedAfter === undefined && Date.now() - revokedAt < 5_000) {
      const answer = await call(second, "/api/v1/features", { "x-api-key": key.secret });
      if (answer.status === 401) refusedAfter = Date.now() - revokedAt;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(refusedAfter).toBeDefined();
    expect(refusedAfter!).toBeLessThan(1_000);
    for (const service of [first, second]) {
      for (const headers of asKey) {
        expect(await call(service, "/api/v1/features", headers)).toEqual({ status: 401, body: { detail: "Invalid authentication credentials" } });
        expect((await call(service, "/trpc/features.list", headers)).status).toBe(401);
      }
    }
  });

  it("no log line of either process holds a secret: valid, revoked, unknown and malformed keys through every header", async () => {
    const created = await call(second, "/api/v1/api-keys", admin, { method: "POST", body: { name: "Logged?", role: "viewer" } });
    const secret = created.body?.secret as string;
    const unknown = `kuark_${"Z9".repeat(21)}x`;
    const malformed = "kuark_not-a-real-key";
    secrets.push(secret, secret.slice("kuark_".length), unknown, unknown.slice("kuark_".length), malformed);
    for (const service of [first, second]) {
      for (const candidate of [secret, unknown, malformed]) {
        await call(service, "/api/v1/features", { authorization: `Bearer ${candidate}` });
        await call(service, "/api/v1/features", { "x-api-key": candidate });
        await call(service, "/trpc/features.list", { "x-api-key": candidate });
        await call(service, "/trpc/features.create", { "x-api-key": candidate }, { method: "POST", body: { name: "" } });
        await call(service, "/api/v1/features", { "x-api-key": candidate, authorization: `Bearer ${candidate}` });
        const stream = rawStream(service.url, {}, `?connectionParams=${encodeURIComponent(JSON.stringify({ token: candidate }))}`);
        await stream.waitFor("event: ", 5_000);
        stream.abort();
        // A token where none may be: refused, and redacted from the URL in the log.
        await call(service, `/api/v1/features?api_key=${candidate}`, {});
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const lines = [first, second].flatMap((service) => service.output().split("\n")).filter((line) => line.startsWith("{"));
    // The services did log these requests (at debug level, with their callers).
    expect(lines.length).toBeGreaterThan(50);
    expect(lines.some((line) => line.includes(`"sub":"apikey:`))).toBe(true);
    for (const line of lines) for (const needle of secrets) expect(line, line).not.toContain(needle);
  });
});
