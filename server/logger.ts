import { pino } from "pino";
import type { DestinationStream, Logger } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/** JSON logs (to stdout unless `destination` is given); credentials are redacted wherever they could appear. */
export function createLogger(config: Pick<Config, "logLevel">, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'req.headers["x-api-key"]',
        "headers.authorization",
        'headers["x-api-key"]',
        "authorization",
        "token",
        "secret",
      ],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
