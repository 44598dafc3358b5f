/**
 * Slow clients (issue 21, item 9): a request's headers must arrive within HEADERS_TIMEOUT_MS, its body
 * within REQUEST_TIMEOUT_MS of its headers (408 in the API's shape, connection closed), a subscription
 * (a long response, not a long request) stays open past both, and a process holds at most
 * MAX_CONNECTIONS connections. Raw sockets play the slow clients against a real listening server.
 */
import { connect } from "node:net";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../server/config.js";
import { makeDependencies, memoryLogger, startServer, testConfig, tokenFor } from "../support/app.js";
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

async function withServer(env: NodeJS.ProcessEnv, work: (server: RunningServer, lines: string[]) => Promise<void>) {
  const { log, lines } = memoryLogger();
  const server = await startServer(makeDependencies(database.db, { config: testConfig(env), log }));
  try {
    await work(server, lines);
  } finally {
    await server.close();
  }
}

/** A raw connection that records what the server sends and when it closed (ms after opening). */
async function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  const opened = Date.now();
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const state = { received: "", closedAfterMs: undefined as number | undefined };
  socket.on("data", (chunk: Buffer) => (state.received += chunk.toString()));
  socket.on("error", () => {});
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => {
      state.closedAfterMs = Date.now() - opened;
      resolve(state.closedAfterMs);
    }),
  );
  return { socket, state, closed };
}

/** Writes `text` one character every `everyMs` until the socket closes or the text runs out. */
async function trickle(socket: Socket, text: string, everyMs: number): Promise<void> {
  for (const char of text) {
    if (socket.destroyed || !socket.writable) return;
    socket.write(char);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("slow clients", () => {
  it("has the documented defaults and refuses a headers deadline at or below the keep-alive timeout", () => {
    expect(parseConfig({}).http).toEqual({ keepAliveTimeoutMs: 65_000, headersTimeoutMs: 75_000, requestTimeoutMs: 30_000, maxConnections: 10_000 });
    expect(parseConfig({ KEEP_ALIVE_TIMEOUT_MS: "5000" }).http.headersTimeoutMs).toBe(15_000);
    expect(parseConfig({ HEADERS_TIMEOUT_MS: "70000", REQUEST_TIMEOUT_MS: "5000", MAX_CONNECTIONS: "50" }).http).toMatchObject({ headersTimeoutMs: 70_000, requestTimeoutMs: 5_000, maxConnections: 50 });
    expect(() => parseConfig({ HEADERS_TIMEOUT_MS: "65000" })).toThrow(/HEADERS_TIMEOUT_MS: must be above KEEP_ALIVE_TIMEOUT_MS/);
    expect(() => parseConfig({ MAX_CONNECTIONS: "-1" })).toThrow(/MAX_CONNECTIONS/);
  });

  it("closes a connection whose headers trickle in past HEADERS_TIMEOUT_MS", async () => {
    await withServer({ KEEP_ALIVE_TIMEOUT_MS: "500", HEADERS_TIMEOUT_MS: "1500" }, async (server) => {
      const connection = await rawConnection(server.url);
      void trickle(connection.socket, `GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`, 100);
      const closedAfter = await connection.closed;
      // The deadline, and at most one check interval (1 s) after it; never the request's answer.
      expect(closedAfter).toBeGreaterThanOrEqual(1_400);
      expect(closedAfter).toBeLessThan(4_000);
      expect(connection.state.received).not.toContain("healthy");
    });
  }, 20_000);

  it.each([
    ["REST", "/api/v1/features", { detail: "Request body not received within 1000 ms" }],
    ["tRPC", "/trpc/features.create", { error: { code: -32008, message: "Request body not received within 1000 ms", data: { code: "TIMEOUT", httpStatus: 408 } } }],
  ])("answers a %s body that trickles in past REQUEST_TIMEOUT_MS with 408 and closes the connection", async (_api, path, expected) => {
    await withServer({ REQUEST_TIMEOUT_MS: "1000" }, async (server, lines) => {
      const connection = await rawConnection(server.url);
      const body = JSON.stringify({ name: "slow-body", description: "x".repeat(100) });
      connection.socket.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokenFor("slow", `slow-${process.pid}`)}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      void trickle(connection.socket, body, 100);
      const closedAfter = await connection.closed;
      expect(closedAfter).toBeGreaterThanOrEqual(900);
      expect(closedAfter).toBeLessThan(3_000);
      const [head, payload] = connection.state.received.split("\r\n\r\n");
      expect(head).toMatch(/^HTTP\/1\.1 408 /);
      expect(head).toMatch(/connection: close/i);
      expect(JSON.parse(payload!)).toMatchObject(expected);
      // Nothing was created, and nothing was logged as an error.
      const rows = await database.db.prisma.feature.count({ where: { name: "slow-body" } });
      expect(rows).toBe(0);
      await sleep(200);
      expect(lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50)).toEqual([]);
    });
  }, 20_000);

  it("lets a body that arrives in time through, however long the response then takes", async () => {
    await withServer({ REQUEST_TIMEOUT_MS: "1000" }, async (server) => {
      const res = await fetch(`${server.url}/api/v1/features`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokenFor("slow", `slow-${process.pid}`)}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "in-time" }),
      });
      expect(res.status).toBe(201);
      // The deadline's timer does not outlive the request: the kept-alive connection serves on past it.
      await sleep(1_500);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    });
  }, 20_000);

  it("keeps a subscription open past both deadlines", async () => {
    await withServer({ KEEP_ALIVE_TIMEOUT_MS: "500", HEADERS_TIMEOUT_MS: "1000", REQUEST_TIMEOUT_MS: "1000" }, async (server) => {
      const connectionParams = encodeURIComponent(JSON.stringify({ token: tokenFor("slow", `slow-${process.pid}`) }));
      const connection = await rawConnection(server.url);
      connection.socket.write(`GET /trpc/features.onChange?connectionParams=${connectionParams} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
      await sleep(3_500);
      expect(connection.state.closedAfterMs).toBeUndefined();
      expect(connection.state.received).toMatch(/^HTTP\/1\.1 200 /);
      expect(connection.state.received).toContain("text/event-stream");
      connection.socket.destroy();
    });
  }, 20_000);

  it("refuses connections beyond MAX_CONNECTIONS and accepts again when one closes", async () => {
    await withServer({ MAX_CONNECTIONS: "3" }, async (server) => {
      const held = await Promise.all([1, 2, 3].map(() => rawConnection(server.url)));
      await sleep(200);
      const extra = await rawConnection(server.url);
      extra.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      await extra.closed;
      expect(extra.state.received).toBe("");
      held[0]!.socket.destroy();
      await held[0]!.closed;
      await sleep(200);
      const again = await rawConnection(server.url);
      again.socket.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      await again.closed;
      expect(again.state.received).toMatch(/^HTTP\/1\.1 200 /);
      for (const connection of held) connection.socket.destroy();
    });
  }, 20_000);
});
