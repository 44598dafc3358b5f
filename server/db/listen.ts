/**
 * LISTEN on a PostgreSQL channel: how each process hears about changes committed by any process on the
 * same database (server/kit/change-hub.ts). PostgreSQL delivers a notification only to connections that were
 * listening when it was committed, and only while they stay connected, so the listener keeps one dedicated
 * connection (outside the pool: a pooled connection is handed to queries and its LISTEN would be lost),
 * reconnects by itself with a capped backoff after the database restarts or the connection drops (or is
 * terminated: `pg_terminate_backend`, a failover), listens again, and then calls `onReconnect` so subscribers
 * read from the change log what they may have missed. `onDisconnect` says the connection was lost, once per
 * loss, so the hub can tell its streams when the database itself is gone too.
 */
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { Logger } from "../logger.js";

export interface ListenHandlers {
  onNotify(payload: string): void;
  /**
   * Called once the connection is listening after not listening for a while: after it was lost, or when
   * the first attempts failed (the database was down at start). Notifications in between are lost.
   */
  onReconnect(): void;
  /** Called when a listening connection is lost, before reconnecting (once per loss, not per failed attempt). */
  onDisconnect?(): void;
}

export interface Listener {
  close(): Promise<void>;
}

/** A channel name from the code, never from input: checked, since LISTEN takes no bind parameter. */
function channelIdentifier(channel: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a plain channel name: ${channel}`);
  return channel;
}

const MAX_BACKOFF_MS = 2_000;

export async function listenPostgres(url: string, channel: string, handlers: ListenHandlers, log?: Logger): Promise<Listener> {
  const name = channelIdentifier(channel);
  let current: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  // Whether notifications may have been missed since the last time this was listening (or since the start).
  let missed = false;
  let listening = false;
  let timer: NodeJS.Timeout | undefined;

  const retry = (client: pg.Client) => {
    if (closed || (current !== undefined && current !== client)) return;
    current = undefined;
    client.removeAllListeners("end");
    void client.end().catch(() => {});
    missed = true;
    if (listening) {
      listening = false;
      handlers.onDisconnect?.();
    }
    if (timer) return;
    const delay = Math.min(100 * 2 ** failures, MAX_BACKOFF_MS);
    failures++;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
  };

  const connect = async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, keepAlive: true });
    current = client;
    client.on("notification", (message) => {
      if (message.channel === name && message.payload) handlers.onNotify(message.payload);
    });
    client.on("error", (err) => {
      log?.warn({ err }, "change listener: connection lost; reconnecting");
      retry(client);
    });
    client.on("end", () => retry(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${name}`);
    } catch (err) {
      if (failures === 0) log?.warn({ err }, "change listener: cannot listen; retrying");
      retry(client);
      return;
    }
    if (closed) {
      await client.end().catch(() => {});
      return;
    }
    // Lost while LISTEN was on its way: the error and end handlers have scheduled the next attempt.
    if (current !== client) return;
    failures = 0;
    listening = true;
    if (missed) {
      missed = false;
      log?.info("change listener: listening again");
      handlers.onReconnect();
    }
  };

  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      const client = current;
      current = undefined;
      if (client) {
        client.removeAllListeners("end");
        await client.end().catch(() => {});
      }
    },
  };
}

/** Embedded PGlite is one in-process connection that never restarts: its own `listen` is all it takes. */
export async function listenPGlite(pglite: PGlite, channel: string, handlers: ListenHandlers): Promise<Listener> {
  const unlisten = await pglite.listen(channelIdentifier(channel), (payload) => handlers.onNotify(payload));
  return {
    close: async () => {
      if (!pglite.closed) await unlisten();
    },
  };
}
