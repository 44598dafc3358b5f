/**
 * The client package as a frontend gets it: built and packed by `npm pack` (its `prepack` builds dist/ afresh),
 * then installed from the tarball into a new project outside the repository, next to its peer dependencies only.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const repositoryRoot = resolve(import.meta.dirname, "../..");
export const clientDir = join(repositoryRoot, "client");
/** Two test files may pack at once; dist/ is rebuilt in place, so builds take turns. */
const buildLock = join(tmpdir(), "kuark-features-client-build.lock");

/** Runs a command; on failure the error message carries its output, so a failing test shows why. */
export async function sh(command: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout}\n${stderr}`, { cause: error });
  }
}

function installedVersion(name: string, from: string): string {
  const manifest = JSON.parse(readFileSync(join(from, "node_modules", name, "package.json"), "utf8")) as { version: string };
  return manifest.version;
}

/** Builds and packs the client into `destination`; returns the tarball's path. */
export async function packClient(destination: string): Promise<string> {
  await mkdir(destination, { recursive: true });
  // The build's own tools (rollup, esbuild, typescript) are the client's devDependencies.
  if (!existsSync(join(clientDir, "node_modules"))) {
    await sh("flock", [buildLock, "npm", "ci", "--no-audit", "--no-fund"], clientDir);
  }
  const output = await sh("flock", [buildLock, "npm", "pack", "--json", "--pack-destination", destination], clientDir);
  const [packed] = JSON.parse(output.slice(output.indexOf("["))) as { filename: string }[];
  if (!packed) throw new Error(`npm pack printed no file: ${output}`);
  return join(destination, packed.filename);
}

/**
 * The peers at the versions the client was built against (the React integration pins tRPC exactly), plus
 * TypeScript at the repository's version.
 */
export function peerSpecs(options: { react: boolean }): string[] {
  const trpc = ["@trpc/client", "@trpc/server"];
  const react = ["@trpc/tanstack-react-query", "@tanstack/react-query", "react", "@types/react"];
  const names = options.react ? [...trpc, ...react] : trpc;
  return [
    ...names.map((name) => `${name}@${installedVersion(name, clientDir)}`),
    `typescript@${installedVersion("typescript", repositoryRoot)}`,
  ];
}

/** A new npm project in `dir` with the tarball and the peers installed from the registry. */
export async function installConsumer(dir: string, tarball: string, options: { react: boolean }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "kuark-client-consumer", private: true, type: "module" }));
  await sh("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", tarball, ...peerSpecs(options)], dir);
}
