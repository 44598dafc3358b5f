/**
 * The bare named stack, for the benchmark's CPU per request (issue 22): Express 5, tRPC's Express adapter
 * (`@trpc/server/adapters/express`, tRPC's own request handling, no fast path) and the project's Prisma
 * client on the project's adapter setup (`connectPostgres`: a `pg.Pool` handed to `@prisma/adapter-pg`),
 * answering `features.byId` and `features.list` with the same Prisma calls the service makes for them (one
 * `findFirst`; `findMany` beside the bounded count) after the same HS256 bearer check. Nothing else: no
 * helmet, CORS, request log, metrics, rate limits, output validation, token cache or error mapping. What the
 * service costs on top of this is what its own layers cost.
 *
 * Run by bench/run.ts as `node --import tsx bench/bare-app.ts`. Environment: DATABASE_URL,
 * DATABASE_POOL_SIZE, PORT, SECRET_KEY.
 */
import { createSecretKey } from "node:crypto";
import { initTRPC, TRPCError } from "@trpc/server";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import type { CreateExpressContextOptions } from "@trpc/server/adapters/express";
import express from "express";
import jwt from "jsonwebtoken";
import { z } from "zod";
import { connectPostgres } from "../server/db/database.js";
import { EXACT_COUNT_LIMIT } from "../server/kit/listing.js";

const databaseUrl = process.env.DATABASE_URL;
const secret = process.env.SECRET_KEY;
if (!databaseUrl || !secret) throw new Error("bench/bare-app.ts needs DATABASE_URL and SECRET_KEY");
const db = connectPostgres(databaseUrl, { poolSize: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
const prisma = db.prisma;
// A KeyObject, as the service gives jsonwebtoken: with a string, it tries createPublicKey on every verify.
const key = createSecretKey(Buffer.from(secret));

/** The caller of a request: its bearer token verified (HS256, `exp` required), or 401. */
function createContext({ req }: CreateExpressContextOptions) {
  const header = req.headers.authorization;
  const token = header?.startsWith("Bearer ") ? header.slice(7) : undefined;
  if (!token) throw new TRPCError({ code: "UNAUTHORIZED" });
  try {
    const claims = jwt.verify(token, key, { algorithms: ["HS256"] }) as jwt.JwtPayload;
    if (typeof claims.exp !== "number" || typeof claims.sub !== "string" || typeof claims.organization_id !== "string") throw new Error("claims");
    return { sub: claims.sub, organizationId: claims.organization_id };
  } catch {
    throw new TRPCError({ code: "UNAUTHORIZED" });
  }
}

const t = initTRPC.context<typeof createContext>().create();

/** The columns the service selects for a feature (its wire columns). */
const columns = {
  id: true,
  organizationId: true,
  name: true,
  description: true,
  status: true,
  createdById: true,
  updatedById: true,
  createdAt: true,
  updatedAt: true,
} as const;

const appRouter = t.router({
  features: t.router({
    byId: t.procedure.input(z.object({ id: z.uuid() })).query(async ({ ctx, input }) => {
      const row = await prisma.feature.findFirst({ where: { id: input.id, organizationId: ctx.organizationId, deletedAt: null }, select: columns });
      if (!row) throw new TRPCError({ code: "NOT_FOUND" });
      return row;
    }),
    list: t.procedure
      .input(z.object({ page: z.number().int().min(1).default(1), limit: z.number().int().min(1).max(100).default(20) }))
      .query(async ({ ctx, input }) => {
        const where = { organizationId: ctx.organizationId, deletedAt: null };
        const [data, counted] = await Promise.all([
          prisma.feature.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], skip: (input.page - 1) * input.limit, take: input.limit, select: columns }),
          // The service's bounded count (server/kit/listing.ts): Prisma's count({ take }) would sort every match.
          prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM (SELECT 1 FROM features WHERE organization_id = ${ctx.organizationId} AND deleted_at IS NULL LIMIT ${EXACT_COUNT_LIMIT + 1}) AS bounded`,
        ]);
        const total = counted[0]?.n ?? 0;
        return { data, pagination: { page: input.page, limit: input.limit, total, totalPages: Math.ceil(total / input.limit), totalIsEstimate: false } };
      }),
  }),
});

const app = express();
app.use("/trpc", createExpressMiddleware({ router: appRouter, createContext }));
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
server.keepAliveTimeout = 60_000;
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void db.close().then(() => process.exit(0));
});
