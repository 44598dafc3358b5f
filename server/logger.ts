import { pino } from "pino";
import type { Logger } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/** JSON logs; credentials are redacted wherever they could appear. */
export function createLogger(config: Pick<Config, "logLevel">): Logger {
  return pino({
    level: config.logLevel,
    redact: {
      paths: ["req.headers.authorization", "req.headers.cookie", "headers.authorization", "authorization", "token"],
      censor: "[redacted]",
    },
  });
}
