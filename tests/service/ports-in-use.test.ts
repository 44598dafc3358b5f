/**
 * Two instances on one machine: a second `npm start` whose metrics port (9464 by default) or HTTP port is
 * taken exits at once, and its error names the variable to set. With its own PORT and METRICS_PORT it runs.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/support/throwaway-postgres.js";
import { TEST_SECRET } from "../support/app.js";
import { cleanEnv, projectRoot, startServiceProcess, stopServiceProcess, TSX_MAIN } from "../support/service-process.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

let taken: Server;
let takenPort: number;
let dataDir: string;

beforeAll(async () => {
  // Another process's port, as a first instance holds 9464.
  taken = createServer().listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => taken.once("listening", resolve));
  takenPort = (taken.address() as AddressInfo).port;
  dataDir = await mkdtemp(path.join(tmpdir(), "kuark-ports-"));
});

afterAll(async () => {
  await new Promise<void>((resolve) => taken.close(() => resolve()));
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts the service with `env` and resolves with its exit code and output once it exits (60 s at most). */
function startExpectingExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, TSX_MAIN, {
    cwd: projectRoot,
    env: { ...cleanEnv(), HOST: "127.0.0.1", SECRET_KEY: TEST_SECRET, METRICS_HOST: "127.0.0.1", PGLITE_DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, output });
    }),
  );
}

describe("a port already in use", () => {
  it("the metrics port: exits 1 saying to set METRICS_PORT to a free port, or 0", async () => {
    const { code, output } = await startExpectingExit({ PORT: String(await freePort()), METRICS_PORT: String(takenPort) });
    expect(code).toBe(1);
    expect(output).toContain(`cannot listen for metrics: port ${takenPort} is in use (another instance on this machine?); set METRICS_PORT to a free port, or METRICS_PORT=0 to serve no metrics`);
  }, 90_000);

  it("the HTTP port: exits 1 saying to set PORT", async () => {
    const { code, output } = await startExpectingExit({ PORT: String(takenPort), METRICS_PORT: "0" });
    expect(code).toBe(1);
    expect(output).toContain(`cannot listen for HTTP: port ${takenPort} is in use (another instance on this machine?); set PORT to a free port`);
  }, 90_000);

  it("with a PORT and METRICS_PORT of its own, the second instance serves", async () => {
    const service = await startServiceProcess({ PGLITE_DATA_DIR: dataDir });
    try {
      expect((await fetch(`${service.url}/health`)).status).toBe(200);
      expect(service.metricsUrl).toBeDefined();
      expect((await fetch(service.metricsUrl!)).status).toBe(200);
    } finally {
      await stopServiceProcess(service);
    }
  }, 60_000);
});
