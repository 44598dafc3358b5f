-- CreateEnum
CREATE TYPE "ChangeType" AS ENUM ('created', 'updated', 'deleted');

-- CreateTable
CREATE TABLE "change_events" (
    "id" BIGSERIAL NOT NULL,
    "organization_id" TEXT NOT NULL,
    "resource" VARCHAR(100) NOT NULL,
    "entity_id" UUID NOT NULL,
    "type" "ChangeType" NOT NULL,
    "actor_id" TEXT NOT NULL,
    "changes" JSONB NOT NULL,
    "entity" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "change_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "change_events_entity_idx" ON "change_events"("organization_id", "resource", "entity_id", "id" DESC);

-- CreateIndex
CREATE INDEX "change_events_org_resource_id_idx" ON "change_events"("organization_id", "resource", "id");

-- CreateIndex
CREATE INDEX "change_events_created_idx" ON "change_events"("created_at");
