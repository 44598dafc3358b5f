/**
 * Requests refused before an API runs (body too slow or too large, rate limited) are answered in the shape of the API
 * they were for: tRPC's error envelope under /trpc, `{ "detail": ... }` under the REST API.
 */
import type { Request, Response } from "express";
import { trpcErrorBody } from "./trpc-error-body.js";

const STATUS = { TIMEOUT: 408, PAYLOAD_TOO_LARGE: 413, TOO_MANY_REQUESTS: 429 } as const;

export type Refuse = (req: Request, res: Response, code: keyof typeof STATUS, message: string) => void;

/** A refusal that answers REST-shaped below `restBase` and tRPC-shaped everywhere else. */
export function refusalFor(restBase: string): Refuse {
  return (req, res, code, message) => {
    const status = STATUS[code];
    const rest = req.originalUrl === restBase || req.originalUrl.startsWith(`${restBase}/`);
    // Every error a procedure answers carries its request id; these do too (the request log gave the request one).
    const requestId = typeof req.id === "string" ? req.id : undefined;
    res.status(status).json(rest ? { detail: message } : trpcErrorBody(code, status, message, requestId));
  };
}

/**
 * A declared body over the limit is refused before a byte of it is read; the APIs' own body readers
 * (tRPC's maxBodySize, express.json's limit) catch bodies that do not declare their length (chunked).
 */
export function declaredBodyLimit(maxBodyBytes: number, refuse: Refuse) {
  return (req: Request, res: Response, next: () => void): void => {
    if (Number(req.headers["content-length"] ?? 0) > maxBodyBytes) {
      res.setHeader("connection", "close");
      refuse(req, res, "PAYLOAD_TOO_LARGE", bodyTooLargeMessage(maxBodyBytes));
      return;
    }
    next();
  };
}

export const bodyTooLargeMessage = (maxBodyBytes: number) => `Request body is larger than ${maxBodyBytes} bytes`;
