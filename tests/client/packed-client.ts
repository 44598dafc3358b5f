/**
 * The client package as a frontend gets it: built and packed by `npm pack` (its `prepack` builds dist/ afresh),
 * then installed from the tarball into a new project outside the repository, next to its peer dependencies only.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const repositoryRoot = resolve(import.meta.dirname, "../..");
export const clientDir = join(repositoryRoot, "client");
/** Two test files may pack at once; dist/ is rebuilt in place, so builds take turns. */
export const buildLock = join(tmpdir(), "kuark-features-client-build.lock");

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

/**
 * The package `name` as Node resolves it from `from`: the nearest node_modules/<name> upwards (in this npm
 * workspace the client's and the app's dependencies are installed once, at the repository's root).
 */
export function installedPackageDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed for ${from}; run npm ci at the repository's root`);
  }
}

function installedManifest(name: string, from: string): { version: string; peerDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(installedPackageDir(name, from), "package.json"), "utf8")) as {
    version: string;
    peerDependencies?: Record<string, string>;
  };
}

/** Builds and packs the client into `destination`; returns the tarball's path. */
export async function packClient(destination: string): Promise<string> {
  await mkdir(destination, { recursive: true });
  // The build's own tools (rollup, esbuild, typescript) are the client's devDependencies, installed by the
  // root's `npm ci` (the client is an npm workspace).
  const output = await sh("flock", [buildLock, "npm", "pack", "--json", "--pack-destination", destination], clientDir);
  const [packed] = JSON.parse(output.slice(output.indexOf("["))) as { filename: string }[];
  if (!packed) throw new Error(`npm pack printed no file: ${output}`);
  return join(destination, packed.filename);
}

/**
 * The peers as a frontend installs them (the README's commands): with the React entry, @trpc/client and
 * @trpc/server at the version @trpc/tanstack-react-query pins exactly (11.22.1 today, while this repository
 * runs a newer tRPC through an override); without it, the tRPC version installed here. Plus TypeScript at the
 * repository's version.
 */
export function peerSpecs(options: { react: boolean }): string[] {
  const trpc = ["@trpc/client", "@trpc/server"];
  const adapterPeers = installedManifest("@trpc/tanstack-react-query", clientDir).peerDependencies ?? {};
  const version = (name: string): string =>
    (options.react && trpc.includes(name) ? adapterPeers[name] : undefined) ?? installedManifest(name, clientDir).version;
  const react = ["@trpc/tanstack-react-query", "@tanstack/react-query", "react", "@types/react"];
  const names = options.react ? [...trpc, ...react] : trpc;
  return [...names.map((name) => `${name}@${version(name)}`), `typescript@${installedManifest("typescript", repositoryRoot).version}`];
}

/** A new npm project in `dir` with the tarball and the peers installed from the registry. */
export async function installConsumer(dir: string, tarball: string, options: { react: boolean }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "kuark-client-consumer", private: true, type: "module" }));
  await sh("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", tarball, ...peerSpecs(options)], dir);
}
