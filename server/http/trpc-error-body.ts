import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";

/**
 * The body of an error answered by Express before tRPC runs (413, 429), shaped like tRPC's own error
 * responses, so clients (and `TRPCClientError.data`) read every error the same way.
 */
export function trpcErrorBody(code: TRPC_ERROR_CODE_KEY, httpStatus: number, message: string, requestId?: string) {
  return { error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus, ...(requestId !== undefined && { requestId }) } } };
}
