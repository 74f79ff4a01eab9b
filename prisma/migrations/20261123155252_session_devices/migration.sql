-- CreateTable
CREATE TABLE "session_device" (
    "session_uid" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_user_agent" TEXT NOT NULL,
    "created_ip" TEXT NOT NULL,
    "last_user_agent" TEXT NOT NULL,
    "last_ip" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "session_device_pkey" PRIMARY KEY ("session_uid")
);

-- CreateIndex
CREATE INDEX "session_device_user_id_idx" ON "session_device"("user_id");

-- CreateIndex
CREATE INDEX "session_device_last_seen_at_idx" ON "session_device"("last_seen_at");
