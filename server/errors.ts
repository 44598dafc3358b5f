/** Domain errors thrown by services; `trpc/errors.ts` is the one place that maps them to API errors. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
  constructor(what: string) {
    super(`${what} not found`);
  }
}

export class ConflictError extends Error {
  override name = "ConflictError";
}
