/** The service as users run it (`npm start`'s command line), as a child process of a test. */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { TEST_SECRET } from "./app.js";

export const projectRoot = path.resolve(import.meta.dirname, "../..");

/** The parent's environment without anything that would change the service's configuration. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ["DATABASE_URL", "PORT", "SECRET_KEY", "NODE_ENV", "PGLITE_DATA_DIR", "LOG_LEVEL", "ALLOWED_ORIGINS", "REDIS_URL"]) delete env[key];
  return env;
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `node --import tsx server/main.ts` (of the project at `cwd`) on an ephemeral port; resolves once it listens. */
export function startServiceProcess(env: NodeJS.ProcessEnv, cwd = projectRoot): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd,
    env: { ...cleanEnv(), PORT: "0", HOST: "127.0.0.1", SECRET_KEY: TEST_SECRET, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/listening on (http:\/\/localhost:\d+)/);
      if (match?.[1]) resolve({ child, url: match[1].replace("localhost", "127.0.0.1"), output: () => output, exited });
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
