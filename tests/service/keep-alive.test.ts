/**
 * Load balancers reuse idle keep-alive connections for up to 60 s; the service must keep them open
 * longer (KEEP_ALIVE_TIMEOUT_MS, 65 s) or a request sent on a connection it is closing fails with a 502.
 * A raw socket holds one connection idle for 10 s (twice Node's default 5 s) and sends a second request.
 */
import { connect } from "node:net";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDependencies, startServer, testConfig } from "../support/app.js";
import type { RunningServer } from "../support/app.js";
import { createTestDatabase } from "../support/database.js";
import type { TestDatabase } from "../support/database.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

/** One keep-alive connection: send a request, read exactly one response, tell whether the peer closed. */
async function openConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let buffer = "";
  let closed = false;
  let waiter: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    waiter?.();
  });
  socket.on("close", () => {
    closed = true;
    waiter?.();
  });
  socket.on("error", () => {});
  return {
    socket,
    isClosed: () => closed,
    async get(path: string): Promise<{ status: number; body: string }> {
      if (closed) throw new Error("connection closed by the server");
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        const length = end === -1 ? undefined : Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))?.[1]);
        if (end !== -1 && length !== undefined && buffer.length >= end + 4 + length) {
          const response = { status: Number(buffer.slice(9, 12)), body: buffer.slice(end + 4, end + 4 + length) };
          buffer = buffer.slice(end + 4 + length);
          return response;
        }
        if (closed) throw new Error("connection closed by the server before a response");
        await new Promise<void>((resolve) => (waiter = resolve));
      }
    },
  };
}

async function withServer(env: NodeJS.ProcessEnv, work: (server: RunningServer) => Promise<void>) {
  const server = await startServer(makeDependencies(database.db, { config: testConfig(env) }));
  try {
    await work(server);
  } finally {
    await server.close();
  }
}

describe("keep-alive behind a load balancer", () => {
  it("keeps an idle connection open for 10 s and serves a second request on it", async () => {
    await withServer({}, async (server) => {
      const connection = await openConnection(server.url);
      expect(await connection.get("/health")).toEqual({ status: 200, body: '{"status":"healthy"}' });
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      expect(connection.isClosed()).toBe(false);
      expect(await connection.get("/health")).toEqual({ status: 200, body: '{"status":"healthy"}' });
      connection.socket.destroy();
    });
  }, 30_000);

  it("closes an idle connection after KEEP_ALIVE_TIMEOUT_MS (the setting is what keeps it open)", async () => {
    await withServer({ KEEP_ALIVE_TIMEOUT_MS: "1000" }, async (server) => {
      const connection = await openConnection(server.url);
      expect((await connection.get("/health")).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(connection.isClosed()).toBe(true);
    });
  }, 30_000);
});
