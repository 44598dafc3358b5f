-- CreateFunction (written with the reference by the generator: Prisma's schema has no functions, so it neither diffs nor drops it).
-- Live rows of "flag_states" that name one of ids in feature_id, read with a snapshot of their own (server/kit/define.ts).
CREATE FUNCTION "kuark_live_flag_states_feature_id"(organization text, ids uuid[]) RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT
AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM "flag_states" WHERE organization_id = organization AND "feature_id" = ANY (ids) AND deleted_at IS NULL);
END
$$;
