/**
 * The one place where errors become API errors: domain errors and known Prisma errors get their tRPC
 * code; anything else stays INTERNAL_SERVER_ERROR (logged by the HTTP layer, hidden in production).
 */
import { TRPCError } from "@trpc/server";
import { Prisma } from "../generated/prisma/client.js";
import { ConflictError, NotFoundError } from "../errors.js";

export function toTRPCError(cause: unknown): TRPCError | undefined {
  if (cause instanceof TRPCError) return undefined;
  if (cause instanceof NotFoundError) return new TRPCError({ code: "NOT_FOUND", message: cause.message, cause });
  if (cause instanceof ConflictError) return new TRPCError({ code: "CONFLICT", message: cause.message, cause });
  if (cause instanceof Prisma.PrismaClientKnownRequestError) {
    if (cause.code === "P2025") return new TRPCError({ code: "NOT_FOUND", message: "Not found", cause });
    if (cause.code === "P2002") return new TRPCError({ code: "CONFLICT", message: "Already exists", cause });
  }
  return undefined;
}
