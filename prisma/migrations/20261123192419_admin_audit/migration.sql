-- AlterTable
ALTER TABLE "client" ADD COLUMN     "access_token_seconds" INTEGER,
ADD COLUMN     "allowed_scopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "refresh_token_seconds" INTEGER;

-- CreateTable
CREATE TABLE "audit_event" (
    "id" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "before" JSONB,
    "after" JSONB,
    "ip" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_event_created_at_idx" ON "audit_event"("created_at");

-- CreateIndex
CREATE INDEX "audit_event_target_type_target_id_created_at_idx" ON "audit_event"("target_type", "target_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_event_actor_created_at_idx" ON "audit_event"("actor", "created_at");
