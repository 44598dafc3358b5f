/** The service as users run it (`npm start`'s command line), as a child process of a test. */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "../../scripts/support/throwaway-postgres.js";
import { TEST_SECRET } from "./app.js";

export const projectRoot = path.resolve(import.meta.dirname, "../..");

/** The parent's environment without anything that would change the service's configuration. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ["DATABASE_URL", "DATABASE_DIRECT_URL", "PORT", "SECRET_KEY", "NODE_ENV", "PGLITE_DATA_DIR", "LOG_LEVEL", "ALLOWED_ORIGINS", "REDIS_URL", "METRICS_PORT", "METRICS_HOST"]) delete env[key];
  for (const key of Object.keys(env)) if (key.startsWith("OTEL_")) delete env[key];
  return env;
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** `http://127.0.0.1:<METRICS_PORT>/metrics`, when metrics are on. */
  metricsUrl: string | undefined;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start`'s command line; the built service is `["dist/server/main.js"]`. */
export const TSX_MAIN = ["--import", "tsx", "server/main.ts"];

/**
 * Starts the service (`node --import tsx server/main.ts`, or `args`) on an ephemeral port, metrics on
 * another free port; resolves once it listens. The metrics port is picked before the process binds it, so
 * another process can take it meanwhile: a start that fails on EADDRINUSE is tried again with a new port.
 */
export async function startServiceProcess(env: NodeJS.ProcessEnv, options: { args?: string[]; cwd?: string } = {}): Promise<ServiceProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env, options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error) || !error.message.includes("EADDRINUSE")) throw error;
    }
  }
}

async function startOnce(env: NodeJS.ProcessEnv, options: { args?: string[]; cwd?: string }): Promise<ServiceProcess> {
  const metricsPort = String(await freePort());
  const child = spawn(process.execPath, options.args ?? TSX_MAIN, {
    cwd: options.cwd ?? projectRoot,
    env: { ...cleanEnv(), PORT: "0", HOST: "127.0.0.1", SECRET_KEY: TEST_SECRET, METRICS_PORT: metricsPort, METRICS_HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/listening on (http:\/\/localhost:\d+)/);
      const metrics = output.match(/metrics on (http:\/\/localhost:\d+\/metrics)/)?.[1]?.replace("localhost", "127.0.0.1");
      if (match?.[1]) resolve({ child, url: match[1].replace("localhost", "127.0.0.1"), metricsUrl: metrics, output: () => output, exited });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => reject(new Error(`service exited with ${code}:\n${output}`)));
  });
}

export function stopServiceProcess(service: ServiceProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  service.child.kill(signal);
  return service.exited;
}
