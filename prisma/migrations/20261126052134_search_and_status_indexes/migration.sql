-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateIndex
CREATE INDEX "features_org_status_live_created_idx" ON "features"("organization_id", "status", "created_at" DESC, "id" DESC) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "features_name_trgm_idx" ON "features" USING GIN ("name" gin_trgm_ops) WHERE (deleted_at IS NULL);
