/* global process, console, Buffer */
/**
 * The raw baseline: a minimal `node:http` + `pg` server that answers the benchmark's requests by
 * executing exactly the SQL the service sends for them (captured from the kit's statements by
 * bench/run.ts), on a pool of the same size, and writing the same JSON. No framework, no validation, no
 * logging, no auth: what the service costs on top of its SQL is the difference.
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
      return {
        query: (sql, params) => db.query(sql, params),
        end: () => db.close(),
      };
    })()
  : (() => {
      const pool = new pg.Pool({
        connectionString: process.env.DATABASE_URL,
        max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
        statement_timeout: 10_000,
      });
      // The service's prepared statements are prepared here too, under a name of their own each.
      const names = new Map();
      return {
        query: (sql, params, prepared) => {
          if (prepared && !names.has(sql)) names.set(sql, `baseline_${names.size}`);
          return pool.query(prepared ? { name: names.get(sql), text: sql, values: params } : { text: sql, values: params });
        },
        end: () => pool.end(),
      };
    })();

/** `GET /trpc/features.list?input=...` -> the endpoint captured for exactly that request. */
const byRequest = new Map(captured.endpoints.map((e) => [`${e.method} ${e.path}`, e]));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

/**
 * The captured statements answer in the kit's shapes: a read by id its `entity` (the wire form, built by the
 * statement), a page an `entity` per row with the bounded count (`total`) on each.
 */
async function answer(endpoint, body) {
  if (endpoint.kind === "create") return create(endpoint, JSON.parse(body));
  const [{ rows }] = await Promise.all(endpoint.statements.map((s) => pool.query(s.sql, s.params, s.prepared)));
  if (endpoint.kind === "byId") return rows[0] ? rows[0].entity : null;
  const total = rows[0]?.total ?? 0;
  const { page, limit } = endpoint.pagination;
  return {
    data: rows.map((row) => row.entity),
    pagination: { page, limit, total, totalPages: Math.ceil(total / limit), totalIsEstimate: false },
  };
}

/**
 * A create replays the service's write: one statement (the row, the organization's lock, the change event
 * and its NOTIFY), with a new id per request and the request's name.
 */
async function create(endpoint, input) {
  const id = randomUUID();
  let feature;
  for (const statement of endpoint.statements) {
    const params = statement.params.map((p, i) => {
      if (typeof p !== "string") return p;
      if (UUID.test(p)) return id;
      if (statement === endpoint.statements[endpoint.insertStatement] && i === endpoint.nameParam) return input.name;
      return p;
    });
    const { rows } = await pool.query(statement.sql, params, statement.prepared);
    if (statement === endpoint.statements[endpoint.insertStatement]) feature = rows[0].after;
  }
  return feature;
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
