/* global process, console, Buffer */
/**
 * The raw baseline: a minimal `node:http` + `pg` server that answers the benchmark's requests by
 * executing exactly the SQL the service sends for them (captured from Prisma's query log by
 * bench/run.ts), on a pool of the same size, and writing the same JSON. No framework, no ORM, no
 * validation, no logging, no auth: what the service costs on top of its SQL is the difference.
 *
 * Environment: DATABASE_URL (or PGLITE_DATA_DIR), DATABASE_POOL_SIZE, PORT, CAPTURED_SQL (the captured JSON file).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import pg from "pg";

const captured = JSON.parse(readFileSync(process.env.CAPTURED_SQL, "utf8"));
// PGLITE_DATA_DIR: the embedded run (`--embedded`), on the same data directory the service used.
const pool = process.env.PGLITE_DATA_DIR
  ? await (async () => {
      const { PGlite } = await import("@electric-sql/pglite");
      const { pg_trgm } = await import("@electric-sql/pglite/contrib/pg_trgm");
      const db = new PGlite({ dataDir: process.env.PGLITE_DATA_DIR, extensions: { pg_trgm } });
      return { query: (sql, params) => db.query(sql, params), end: () => db.close() };
    })()
  : new pg.Pool({
      connectionString: process.env.DATABASE_URL,
      max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
      statement_timeout: 10_000,
    });

/** `GET /trpc/features.list?input=...` -> the endpoint captured for exactly that request. */
const byRequest = new Map(captured.endpoints.map((e) => [`${e.method} ${e.path}`, e]));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function wire(row) {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    description: row.description,
    status: row.status,
    createdById: row.created_by_id,
    updatedById: row.updated_by_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

async function answer(endpoint, body) {
  if (endpoint.kind === "create") {
    const input = JSON.parse(body);
    const now = new Date();
    // A new id and new timestamps per row, as Prisma makes them; the name comes from the request.
    const params = endpoint.statements[0].params.map((p, i) =>
      UUID.test(p) ? randomUUID() : ISO.test(p) ? now : i === endpoint.nameParam ? input.name : p,
    );
    const { rows } = await pool.query(endpoint.statements[0].sql, params);
    return wire(rows[0]);
  }
  // The statements of one request run concurrently, as the service's Promise.all runs them.
  const results = await Promise.all(endpoint.statements.map((s) => pool.query(s.sql, s.params)));
  if (endpoint.kind === "byId") return results[0].rows[0] ? wire(results[0].rows[0]) : null;
  const total = results[1].rows[0].n;
  const { page, limit } = endpoint.pagination;
  return {
    data: results[0].rows.map(wire),
    pagination: { page, limit, total, totalPages: Math.ceil(total / limit), totalIsEstimate: false },
  };
}

const server = http.createServer((req, res) => {
  const endpoint = byRequest.get(`${req.method} ${req.url}`);
  if (!endpoint) return send(res, 404, { error: "not found" });
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    answer(endpoint, Buffer.concat(chunks).toString()).then(
      (data) => (data === null ? send(res, 404, { error: "not found" }) : send(res, 200, { result: { data } })),
      (error) => {
        console.error(error);
        send(res, 500, { error: "internal" });
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => console.log(`listening ${server.address().port}`));
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void pool.end().then(() => process.exit(0));
});
