-- CreateTable
CREATE TABLE "flag_states" (
    "id" UUID NOT NULL,
    "organization_id" TEXT NOT NULL,
    "feature_id" UUID NOT NULL,
    "environment_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL,
    "rollout_percent" INTEGER NOT NULL,
    "note" VARCHAR(200) NOT NULL,
    "created_by_id" TEXT NOT NULL,
    "updated_by_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "flag_states_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "flag_states_org_live_created_idx" ON "flag_states"("organization_id", "created_at" DESC, "id" DESC) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "flag_states_org_feature_id_live_created_idx" ON "flag_states"("organization_id", "feature_id", "created_at" DESC, "id" DESC) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "flag_states_org_environment_id_live_created_idx" ON "flag_states"("organization_id", "environment_id", "created_at" DESC, "id" DESC) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "flag_states_org_enabled_live_created_idx" ON "flag_states"("organization_id", "enabled", "created_at" DESC, "id" DESC) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "flag_states_note_trgm_idx" ON "flag_states" USING GIN ("note" gin_trgm_ops) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "flag_states_org_updated_at_live_sort_idx" ON "flag_states"("organization_id", "updated_at", "id") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "flag_states_org_rollout_percent_live_sort_idx" ON "flag_states"("organization_id", "rollout_percent", "id") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "flag_states_org_id_key" ON "flag_states"("organization_id", "id");

-- AddForeignKey
ALTER TABLE "flag_states" ADD CONSTRAINT "flag_states_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "flag_states" ADD CONSTRAINT "flag_states_feature_id_fkey" FOREIGN KEY ("organization_id", "feature_id") REFERENCES "features"("organization_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "flag_states" ADD CONSTRAINT "flag_states_environment_id_fkey" FOREIGN KEY ("organization_id", "environment_id") REFERENCES "environments"("organization_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;
