import type { PrismaClient } from "./db/database.js";

/**
 * Makes sure an organization's row exists before its first write. `INSERT ... ON CONFLICT DO NOTHING`
 * (createMany + skipDuplicates) cannot race into a unique violation the way find-then-create or an
 * upsert does when many first requests of one organization arrive at once. Known ids are remembered
 * (bounded), so an organization costs one round trip per process, not one per request.
 */
export function createOrganizations(prisma: PrismaClient, maxRemembered = 10_000) {
  const known = new Set<string>();
  return {
    async ensure(organizationId: string): Promise<void> {
      if (known.has(organizationId)) return;
      await prisma.organization.createMany({ data: [{ id: organizationId }], skipDuplicates: true });
      if (known.size >= maxRemembered) known.clear();
      known.add(organizationId);
    },
  };
}

export type Organizations = ReturnType<typeof createOrganizations>;
