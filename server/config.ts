/**
 * Configuration: the environment (and `.env`, when present), parsed once by zod.
 * An invalid value stops the process with a message that names the variable.
 */
import { existsSync } from "node:fs";
import { z } from "zod";

/** Used only outside production, with a loud warning; never accepted when NODE_ENV=production. */
export const DEV_SECRET_KEY = "kuark-dev-secret-key-do-not-use-in-production";

const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).optional(),
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" })
      .optional(),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
    PGLITE_DATA_DIR: z.string().min(1).default(".data/pglite"),
    SECRET_KEY: z.string().min(16, "must be at least 16 characters").optional(),
    ACCESS_TOKEN_EXPIRE_MINUTES: z.coerce.number().int().positive().default(1440),
    ALLOWED_ORIGINS: z
      .string()
      .default("http://localhost:3000")
      .transform((value) => value.split(",").map((o) => o.trim()).filter(Boolean))
      .pipe(z.array(z.url({ error: "must be a comma-separated list of origins (http://host:port)" }))),
    LOG_LEVEL: LogLevel.default("info"),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /** Unset: the developer panel at /panel is on everywhere but in production. */
    PANEL_ENABLED: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && !env.SECRET_KEY) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: "is required when NODE_ENV=production" });
    }
    if (env.NODE_ENV === "production" && env.SECRET_KEY === DEV_SECRET_KEY) {
      ctx.addIssue({ code: "custom", path: ["SECRET_KEY"], message: "must not be the development key in production" });
    }
  });

export interface Config {
  nodeEnv: "development" | "production" | "test";
  port: number;
  host: string | undefined;
  /** Unset: the embedded PGlite database in `pgliteDataDir`. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  pgliteDataDir: string;
  secretKey: string;
  /** True when no SECRET_KEY was given and the development key is in use. */
  usingDevSecret: boolean;
  accessTokenExpireMinutes: number;
  allowedOrigins: string[];
  logLevel: z.infer<typeof LogLevel>;
  shutdownTimeoutMs: number;
  /** The developer panel at /panel (server/panel); its dev-token endpoint never exists in production. */
  panelEnabled: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses `env`; throws ConfigError naming every invalid variable. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = result.data;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    pgliteDataDir: e.PGLITE_DATA_DIR,
    secretKey: e.SECRET_KEY ?? DEV_SECRET_KEY,
    usingDevSecret: !e.SECRET_KEY,
    accessTokenExpireMinutes: e.ACCESS_TOKEN_EXPIRE_MINUTES,
    allowedOrigins: e.ALLOWED_ORIGINS,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    panelEnabled: e.PANEL_ENABLED ? e.PANEL_ENABLED === "true" : e.NODE_ENV !== "production",
  };
}

/** Reads `.env` from the working directory (variables already set win), then parses the environment. */
export function loadConfig(envFile = ".env"): Config {
  // Node's own loader (20.12+) instead of dotenv: same format, one dependency fewer. It never
  // overrides a variable that is already set.
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return parseConfig(process.env);
}
