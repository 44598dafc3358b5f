-- CreateFunction (written by hand: Prisma's schema has no functions, so it neither diffs nor drops this one).
-- Whether live rows of `referrer` in `organization` name one of `ids` in `reference_column`: the check a
-- delete of a referenced row makes inside its one statement (server/kit/statements.ts). It must see rows
-- committed after that statement began (up to when the statement took the organization's lock), which the
-- statement's own snapshot cannot: a VOLATILE function takes a fresh snapshot for each statement it runs.
-- The table and column come from the kit's definitions, never from input; `%s` of a regclass and `%I`
-- quote them.
CREATE FUNCTION "kuark_live_referrer"(referrer regclass, reference_column text, organization text, ids uuid[])
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT
AS $$
DECLARE
  found boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE organization_id = $1 AND %I = ANY ($2) AND deleted_at IS NULL)', referrer, reference_column)
    INTO found USING organization, ids;
  RETURN found;
END
$$;
