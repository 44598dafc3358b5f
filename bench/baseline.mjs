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
      return {
        query: (sql, params) => db.query(sql, params),
        transaction: (work) => db.transaction((tx) => work({ query: (sql, params) => tx.query(sql, params) })),
        end: () => db.close(),
      };
    })()
  : (() => {
      const pool = new pg.Pool({
        connectionString: process.env.DATABASE_URL,
        max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
        statement_timeout: 10_000,
      });
      return {
        query: (sql, params) => pool.query(sql, params),
        /** BEGIN on one connection of the pool; the captured statements end with the COMMIT. */
        async transaction(work) {
          const client = await pool.connect();
          try {
            await client.query("BEGIN");
            return await work(client);
          } catch (error) {
            await client.query("ROLLBACK").catch(() => {});
            throw error;
          } finally {
            client.release();
          }
        },
        end: () => pool.end(),
      };
    })();

/** `GET /trpc/features.list?input=...` -> the endpoint captured for exactly that request. */
const byRequest = new Map(captured.endpoints.map((e) => [`${e.method} ${e.path}`, e]));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A row as the captured statement returns it: columns by their names (Prisma's own SELECT) or under the
 * entity's field names (the kit's raw read by id, `"created_at" AS "createdAt"`).
 */
function wire(row) {
  const field = (name, column) => (name in row ? row[name] : row[column]);
  return {
    id: row.id,
    organizationId: field("organizationId", "organization_id"),
    name: row.name,
    description: row.description,
    status: row.status,
    createdById: field("createdById", "created_by_id"),
    updatedById: field("updatedById", "updated_by_id"),
    createdAt: field("createdAt", "created_at").toISOString(),
    updatedAt: field("updatedAt", "updated_at").toISOString(),
  };
}

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

async function answer(endpoint, body) {
  if (endpoint.kind === "create") return create(endpoint, JSON.parse(body));
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

/**
 * A create replays the service's whole write transaction (BEGIN, the INSERT, the statement that takes the
 * organization's lock and writes the change event and its NOTIFY, COMMIT) on one connection, with a new
 * id and new timestamps per request, the request's name, and the change event's JSON rebuilt around them.
 */
async function create(endpoint, input) {
  const id = randomUUID();
  const now = new Date();
  const capturedId = endpoint.statements.flatMap((s) => s.params).find((p) => UUID.test(p));
  let feature;
  const run = async (client) => {
    for (const statement of endpoint.statements) {
      const params = statement.params.map((p, i) => {
        if (typeof p !== "string") return p;
        if (UUID.test(p)) return id;
        if (ISO.test(p)) return now;
        if (statement === endpoint.statements[endpoint.insertStatement] && i === endpoint.nameParam) return input.name;
        if (p.startsWith("{") && feature) return p.replaceAll(capturedId, id).replaceAll('"Bench created"', JSON.stringify(input.name));
        return p;
      });
      const { rows } = await client.query(statement.sql, params);
      if (statement.sql.startsWith('INSERT INTO "public"."features"')) feature = rows[0];
    }
  };
  // PGlite's transaction() commits by itself: its COMMIT statement is skipped.
  await pool.transaction(async (client) => run(process.env.PGLITE_DATA_DIR ? { query: (sql, params) => (sql === "COMMIT" ? { rows: [] } : client.query(sql, params)) } : client));
  return wire(feature);
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
