/**
 * Escapes LIKE/ILIKE wildcards so that every character of `text` matches itself.
 * Prisma's `contains` passes `%`, `_` and `\` through as wildcards (prisma/prisma#19506, open);
 * PostgreSQL's default LIKE escape character is the backslash.
 * @see https://github.com/prisma/prisma/issues/19506
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
