-- CreateTable
CREATE TABLE "environments" (
    "id" UUID NOT NULL,
    "organization_id" TEXT NOT NULL,
    "project_id" UUID NOT NULL,
    "key" VARCHAR(200) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "created_by_id" TEXT NOT NULL,
    "updated_by_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "environments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "environments_org_live_created_idx" ON "environments"("organization_id", "created_at" DESC, "id" DESC) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "environments_org_project_id_live_created_idx" ON "environments"("organization_id", "project_id", "created_at" DESC, "id" DESC) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "environments_name_trgm_idx" ON "environments" USING GIN ("name" gin_trgm_ops) WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "environments_org_updated_at_live_sort_idx" ON "environments"("organization_id", "updated_at", "id") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE INDEX "environments_org_name_live_sort_idx" ON "environments"("organization_id", "name", "id") WHERE (deleted_at IS NULL);

-- CreateIndex
CREATE UNIQUE INDEX "environments_org_id_key" ON "environments"("organization_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "environments_org_project_id_key_live_key" ON "environments"("organization_id", "project_id", "key") WHERE (deleted_at IS NULL);

-- AddForeignKey
ALTER TABLE "environments" ADD CONSTRAINT "environments_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "environments" ADD CONSTRAINT "environments_project_id_fkey" FOREIGN KEY ("organization_id", "project_id") REFERENCES "projects"("organization_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;
