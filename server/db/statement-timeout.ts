/**
 * How DATABASE_STATEMENT_TIMEOUT_MS holds, on a direct connection and behind a transaction pooler, and the
 * interactive-transaction limit derived from it.
 *
 * Direct to PostgreSQL: `statement_timeout` is a startup parameter of every connection, free of cost.
 * Behind PgBouncer in transaction mode that is impossible: PgBouncer refuses a startup parameter it does not
 * know (`unsupported startup parameter: statement_timeout`, 08P01) and a session SET would stay on whichever
 * server connection ran it. So there it is set where a pooler keeps it:
 * - an interactive transaction (every write) starts with `SET LOCAL statement_timeout`, which lasts exactly
 *   as long as the transaction, on the server connection that runs it;
 * - a single statement outside a transaction (reads) gets a client-side deadline: when it passes, a cancel
 *   request goes out (PgBouncer forwards it to the server connection running the statement), the statement
 *   fails with 57014 as a statement timeout does, and its connection is dropped, so that a late cancel can
 *   never reach the next statement.
 */
import { connect } from "node:net";
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";

/**
 * Prisma's interactive-transaction limits (`$transaction`'s `maxWait` and `timeout`), derived from the
 * statement timeout `statementTimeoutMs`. A transaction may wait that long for one statement (a locked row)
 * and must still have time for the rest, so it expires at twice that: a statement that waits too long fails
 * first, as a statement timeout (57014), not as an expired transaction. Waiting for a connection is bounded by
 * one statement's time (the pool's own connect timeout may cut it shorter). 0 (no statement timeout): Prisma's
 * defaults (2 s to start, 5 s in all).
 */
export function transactionOptionsFor(statementTimeoutMs: number): { maxWait: number; timeout: number } | undefined {
  return statementTimeoutMs > 0 ? { maxWait: statementTimeoutMs, timeout: 2 * statementTimeoutMs } : undefined;
}

export interface PoolSettings {
  poolSize: number;
  connectTimeoutMs: number;
  /** 0 for none. */
  statementTimeoutMs: number;
  /** `url` is a transaction pooler (PgBouncer, `pool_mode = transaction`): no startup parameter it would refuse. */
  behindPooler: boolean;
}

/** The pg pool on `url`, with the statement timeout set as `settings` say (see the file comment). */
export function createPool(url: string, settings: PoolSettings): pg.Pool {
  const { poolSize, connectTimeoutMs, statementTimeoutMs, behindPooler } = settings;
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    ...(!behindPooler && statementTimeoutMs > 0 && { statement_timeout: statementTimeoutMs }),
  });
  if (behindPooler && statementTimeoutMs > 0) {
    // Prisma's adapter runs every statement outside a transaction through `pool.query` (promise form);
    // its transactions take a client with `pool.connect` and are covered by SET LOCAL instead.
    const original = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    pool.query = ((config: string | pg.QueryConfig, values?: unknown, callback?: unknown) =>
      typeof values === "function" || typeof callback === "function"
        ? original(config, values, callback)
        : queryWithin(pool, statementTimeoutMs, connectTimeoutMs, config, values as unknown[] | undefined)) as typeof pool.query;
  }
  return pool;
}

async function queryWithin(pool: pg.Pool, deadlineMs: number, connectTimeoutMs: number, config: string | pg.QueryConfig, values: unknown[] | undefined) {
  const client = await pool.connect();
  // A connection lost mid-statement is also an 'error' event on the client: without a listener it would end
  // the process. The statement's own promise rejects with it, which is where it is handled.
  const ignore = () => {};
  client.on("error", ignore);
  let overdue = false;
  const timer = setTimeout(() => {
    overdue = true;
    sendCancelRequest(client, connectTimeoutMs);
  }, deadlineMs);
  let failure: Error | undefined;
  try {
    return await client.query(config, values);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    clearTimeout(timer);
    client.removeListener("error", ignore);
    // As pg-pool's own `query` does, a failed statement's connection is dropped; so is one a cancel was sent on.
    client.release(failure ?? overdue);
  }
}

/**
 * PostgreSQL's CancelRequest (protocol 3.0: length 16, code 80877102, the backend's process id and secret
 * key) on a connection of its own, as libpq's PQcancel sends it (unencrypted). Written here because pg 8 has no
 * public way to cancel a running statement; the key is the one the server (or PgBouncer) gave this client.
 */
function sendCancelRequest(client: pg.PoolClient, connectTimeoutMs: number): void {
  const { processID, secretKey, host, port } = client as unknown as { processID: number | null; secretKey: number | null; host: string; port: number };
  if (processID === null || secretKey === null) return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  const socket = host.startsWith("/") ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
  socket.setTimeout(connectTimeoutMs, () => socket.destroy());
  // A cancel that cannot be sent leaves the statement to the pool's own timeouts; nothing else to do.
  socket.on("error", () => socket.destroy());
  // Like PQcancel, it waits for the other side to close: PgBouncer drops a cancel whose sender left first.
  socket.once("connect", () => socket.write(packet));
  socket.once("end", () => socket.destroy());
}

/**
 * `factory`'s adapter with `SET LOCAL statement_timeout` as the first statement of every interactive
 * transaction (one round trip more per transaction, paid only behind a pooler).
 */
export function withStatementTimeoutPerTransaction<F extends SqlDriverAdapterFactory>(factory: F, statementTimeoutMs: number): SqlDriverAdapterFactory {
  if (!Number.isSafeInteger(statementTimeoutMs) || statementTimeoutMs <= 0) return factory;
  const setLocal = { sql: `SET LOCAL statement_timeout = ${statementTimeoutMs}`, args: [], argTypes: [] };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect() {
      const adapter = await factory.connect();
      return new Proxy(adapter, {
        get(target, property) {
          if (property === "startTransaction") {
            const startTransaction: SqlDriverAdapter["startTransaction"] = async (isolationLevel) => {
              const transaction = await target.startTransaction(isolationLevel);
              try {
                await transaction.executeRaw(setLocal);
              } catch (error) {
                // Prisma sends ROLLBACK itself only for a transaction it was handed.
                await transaction.executeRaw({ sql: "ROLLBACK", args: [], argTypes: [] }).catch(() => {});
                await transaction.rollback().catch(() => {});
                throw error;
              }
              return transaction;
            };
            return startTransaction;
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
}
