/**
 * A PgBouncer of the caller's own (Debian's `pgbouncer` package), for tests and the benchmark: in transaction
 * mode, everything else at PgBouncer's defaults (no `ignore_startup_parameters`, no prepared-statement
 * support), clients let in with trust, on a free loopback port, in front of the PostgreSQL server of
 * `serverUrl` (every database of it). Its ini and userlist live in a temporary directory, removed on stop.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "./throwaway-postgres.js";

const PGBOUNCER = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((file) => existsSync(file));

/** Whether Debian's pgbouncer is installed (`apt-get install pgbouncer`). */
export const pgbouncerInstalled = PGBOUNCER !== undefined;

/** `pgbouncer --version`'s first line ("PgBouncer 1.18.0"). */
export function pgbouncerVersion(): string {
  if (!PGBOUNCER) throw new Error("pgbouncer not found: install Debian's pgbouncer (apt-get install pgbouncer)");
  return spawnSync(PGBOUNCER, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "";
}

export interface PgBouncer {
  /** `serverUrl` with PgBouncer's host and port. */
  urlFor(serverUrl: string): string;
  /** What PgBouncer has written (its log goes to stderr). */
  output(): string;
  stop(): Promise<void>;
}

export async function startPgBouncer(serverUrl: string): Promise<PgBouncer> {
  if (!PGBOUNCER) throw new Error("pgbouncer not found: install Debian's pgbouncer (apt-get install pgbouncer)");
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || "postgres");
  const dir = await mkdtemp(path.join(tmpdir(), "kuark-pgbouncer-"));
  const port = await freePort();
  const ini = [
    "[databases]",
    `* = host=${server.hostname} port=${server.port || 5432}`,
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    "pool_mode = transaction",
    "auth_type = trust",
    `auth_file = ${path.join(dir, "userlist.txt")}`,
    "",
  ].join("\n");
  await writeFile(path.join(dir, "pgbouncer.ini"), ini);
  await writeFile(path.join(dir, "userlist.txt"), `"${user}" ""\n`);
  // PgBouncer refuses to run as root ("PgBouncer should not run as root"): as root, `-u` makes it switch to
  // the postgres user once it has read its files, which that user must be able to reach.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chmod(dir, 0o755);
  const child = spawn(PGBOUNCER, [...(asRoot ? ["-u", "postgres"] : []), path.join(dir, "pgbouncer.ini")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const urlFor = (url: string) => {
    const pooled = new URL(url);
    pooled.hostname = "127.0.0.1";
    pooled.port = String(port);
    return pooled.toString();
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  // Up once a query through it answers (it has then reached the server too).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new pg.Client({ connectionString: urlFor(serverUrl), connectionTimeoutMillis: 1_000 });
    const up = await client
      .connect()
      .then(() => client.query("SELECT 1"))
      .then(
        () => true,
        () => false,
      );
    await client.end().catch(() => {});
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`pgbouncer did not come up:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { urlFor, output: () => output, stop };
}
