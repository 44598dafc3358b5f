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

/**
 * `base.child(bindings())`, made on the first use: most requests and calls log nothing of their own, and a
 * pino child serializes its bindings when it is made (measured: about 2% of a `features.byId` call's CPU).
 */
export function lazyChild(base: Logger, bindings: () => Record<string, unknown>): Logger {
  let child: Logger | undefined;
  return new Proxy(base, {
    get(_target, property) {
      child ??= base.child(bindings());
      const value: unknown = Reflect.get(child, property, child);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(child) : value;
    },
  });
}
