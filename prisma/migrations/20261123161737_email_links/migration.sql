-- CreateTable
CREATE TABLE "email_link" (
    "token_hash" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "interaction_uid" TEXT,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "consumed_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "email_link_pkey" PRIMARY KEY ("token_hash")
);

-- CreateIndex
CREATE INDEX "email_link_purpose_email_idx" ON "email_link"("purpose", "email");

-- CreateIndex
CREATE INDEX "email_link_expires_at_idx" ON "email_link"("expires_at");
