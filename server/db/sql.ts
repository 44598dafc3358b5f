/**
 * Statements straight to the database driver, beside Prisma: node-postgres's pool on PostgreSQL, PGlite's
 * own `query` when embedded. The kit's statements run here, always through the organization scope
 * (server/kit/scope.ts, the only module given this runner); Prisma stays the schema, the migrations and
 * the types, and serves what is outside any organization (the change hub, API-key lookups, organizations).
 *
 * Why not through Prisma's client: per call it costs about three times the CPU of `pg`'s `pool.query` for the
 * same SQL (the issue's measurement: 171 to 184 µs for `$queryRawUnsafe`, 58 to 61 µs for `pool.query`), and
 * an interactive transaction adds its own bookkeeping to each statement; the kit's writes are single
 * statements now, and this is what runs them (bench/results/levers.md).
 *
 * A statement is a Prisma `Sql` (or anything with the same `text` and `values`): `$1`-style placeholders and
 * its values, never values inside the text. Rows come back as objects keyed by column name: timestamps as
 * `Date`, jsonb parsed, numbers for int4 and float8 (cast counts to int: int8 differs between the drivers).
 */
import type { PGlite, Transaction } from "@electric-sql/pglite";
import type pg from "pg";
import { tracing } from "../observability/trace-hooks.js";

/** One statement: its text with `$n` placeholders and their values. */
export interface Statement {
  readonly text: string;
  readonly values: readonly unknown[];
  /**
   * Whether its plan does not depend on its values (rows found by key, writes of one row): then PostgreSQL
   * may keep it prepared on each connection (`preparedNames`), parsed and planned once, not per call.
   */
  readonly prepared?: boolean;
}

export type SqlRow = Record<string, unknown>;

export interface Sql {
  /** Runs one statement and answers its rows. */
  query<T = SqlRow>(statement: Statement): Promise<T[]>;
  /**
   * Runs `work` in one transaction on one connection: what it runs through the `Sql` it is given commits, or
   * rolls back when it throws. Inside a transaction, a nested call joins it.
   */
  transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
}

/** Runs `run` inside a span carrying the statement's text (placeholders, never values), when tracing is on. */
function traced<T>(text: string, run: () => Promise<T>): Promise<T> {
  return tracing.statementSpan ? tracing.statementSpan(text, run) : run();
}

/**
 * Names of prepared statements, by text: at most `limit` distinct texts are prepared (each on every
 * connection that runs it), so statements built from varying inputs cannot grow the server's memory
 * without bound; past that, a statement is parsed per call as before. node-postgres prepares a named
 * statement on a connection the first time it runs there and sends only its values afterwards.
 */
export function preparedNames(limit = 500): (text: string) => string | undefined {
  const names = new Map<string, string>();
  return (text) => {
    let name = names.get(text);
    if (name === undefined && names.size < limit) {
      name = `kuark_${names.size}`;
      names.set(text, name);
    }
    return name;
  };
}

export interface PoolSqlOptions {
  /**
   * Sent after BEGIN in every transaction (`SET LOCAL statement_timeout = ...` behind a transaction pooler,
   * where no startup parameter can carry it: ./statement-timeout.ts).
   */
  firstInTransaction?: string | undefined;
  /**
   * Keep `prepared` statements prepared on the connections (PostgreSQL itself); false behind a transaction
   * pooler, whose server connections change between statements (PgBouncer 1.18 has no prepared statements).
   */
  prepare?: boolean | undefined;
}

/** Statements on node-postgres's pool (the one Prisma's adapter uses too, so its size bounds both). */
export function sqlOnPool(pool: pg.Pool, options: PoolSqlOptions = {}): Sql {
  const nameOf = options.prepare ? preparedNames() : undefined;
  const configOf = (statement: Statement): pg.QueryConfig => {
    const name = statement.prepared ? nameOf?.(statement.text) : undefined;
    return { text: statement.text, values: statement.values as unknown[], ...(name !== undefined && { name }) };
  };
  const onClient = (client: pg.PoolClient): Sql => {
    const inTransaction: Sql = {
      query: <T>(statement: Statement) => traced(statement.text, async () => (await client.query(configOf(statement))).rows as T[]),
      transaction: (work) => work(inTransaction),
    };
    return inTransaction;
  };
  return {
    // pool.query takes a connection for the statement and gives it back (behind a pooler, with the deadline of
    // ./statement-timeout.ts); a connection that failed is dropped by the pool itself.
    query: <T>(statement: Statement) => traced(statement.text, async () => (await pool.query(configOf(statement))).rows as T[]),
    async transaction(work) {
      const client = await pool.connect();
      // Released once, destroyed when the connection itself failed (its ROLLBACK could not be sent).
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        if (options.firstInTransaction) await client.query(options.firstInTransaction);
        const result = await work(onClient(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

/**
 * PGlite's errors carry the statement's parameters (`params`): values a log line must never hold (a name, a
 * key's hash). They are dropped here; the SQLSTATE, constraint and message stay.
 */
function withoutParams(error: unknown): never {
  if (error && typeof error === "object") {
    delete (error as { params?: unknown }).params;
    delete (error as { queryOptions?: unknown }).queryOptions;
  }
  throw error;
}

/**
 * Statements on embedded PGlite: one connection, so one statement or transaction at a time; PGlite's own
 * `query` waits while a transaction (this runner's or Prisma's) holds it.
 */
export function sqlOnPGlite(pglite: PGlite): Sql {
  const on = (target: PGlite | Transaction): Sql => ({
    query: <T>(statement: Statement) =>
      traced(statement.text, async () => (await target.query<T>(statement.text, statement.values as unknown[]).catch(withoutParams)).rows),
    transaction: (work) => (target === pglite ? pglite.transaction((tx) => work(on(tx))) : work(on(target))),
  });
  return on(pglite);
}
