-- CreateIndex
CREATE INDEX "features_org_name_live_sort_idx" ON "features"("organization_id", "name", "id") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "features_org_updated_at_live_sort_idx" ON "features"("organization_id", "updated_at", "id") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "features_org_id_key" ON "features"("organization_id", "id");
