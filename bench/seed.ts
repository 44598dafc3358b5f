/**
 * The benchmark's features: `Feature <i> <md5(i)[0..8]>`, 1 in 10 INACTIVE, one second apart from
 * 2025-01-01, inserted with generate_series in statements of 100k rows (no row-by-row insert). The full run
 * (bench/run.ts) and the side-by-side comparison (bench/side-by-side.ts) seed the same rows.
 */

/** What runs the statements: a pg client, or the bench's own runner (PostgreSQL or PGlite). */
export type SeedQuery = (text: string, params: unknown[]) => Promise<unknown>;

/** Seeds rows `from`..`to` of `org` (creating the organization when missing). */
export async function seedFeatures(query: SeedQuery, org: string, from: number, to: number): Promise<void> {
  await query(`INSERT INTO organizations (id) VALUES ($1) ON CONFLICT DO NOTHING`, [org]);
  for (let start = from; start <= to; start += 100_000) {
    const end = Math.min(to, start + 99_999);
    await query(
      `INSERT INTO features (id, organization_id, name, description, status, created_by_id, updated_by_id, created_at, updated_at)
       SELECT gen_random_uuid(), $1, 'Feature ' || i || ' ' || left(md5(i::text), 8), 'Seeded by the benchmark',
              (CASE WHEN i % 10 = 0 THEN 'INACTIVE' ELSE 'ACTIVE' END)::"FeatureStatus", 'bench', 'bench', ts, ts
       FROM generate_series($2::int, $3::int) AS i,
            LATERAL (SELECT timestamptz '2025-01-01' + i * interval '1 second' AS ts) AS t`,
      [org, start, end],
    );
  }
}
