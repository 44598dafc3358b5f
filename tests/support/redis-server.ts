/**
 * A Redis of the test's own: Debian's `redis-server` on a free loopback port, nothing persisted
 * (`--save "" --appendonly no`), that the test can freeze (SIGSTOP), resume, kill and start again on the
 * same port. Never the machine's own Redis (6379).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { freePort } from "../../scripts/support/throwaway-postgres.js";

export interface TestRedis {
  port: number;
  url: string;
  /** Starts it (again) on its port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets open and answers nothing, as a hung or swapped-out Redis. */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  resume(): void;
  /** SIGKILL: connections are reset and new ones refused until `start`. */
  kill(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "redis-server";

/** A Redis on a free port, not started yet (`start()`): a test can begin with its Redis absent. */
export async function createTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();

  const kill = async () => {
    if (!child) return;
    child.kill("SIGKILL");
    await exited;
    child = undefined;
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) throw new Error("the test Redis is already running");
      const started = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = started;
      exited = new Promise((resolve) => started.once("exit", resolve));
      let output = "";
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes("Ready to accept connections")) resolve();
        };
        started.stdout?.on("data", onData);
        started.stderr?.on("data", onData);
        started.once("error", reject);
        void exited.then(() => reject(new Error(`redis-server exited before it was ready:\n${output}`)));
      });
    },
    freeze() {
      child?.kill("SIGSTOP");
    },
    resume() {
      child?.kill("SIGCONT");
    },
    kill,
  };
}

/** Kills every test Redis still running when a test file ends (a SIGSTOPped one too: SIGKILL needs no SIGCONT). */
export async function stopAll(instances: TestRedis[]): Promise<void> {
  await Promise.all(instances.map((instance) => instance.kill()));
}
