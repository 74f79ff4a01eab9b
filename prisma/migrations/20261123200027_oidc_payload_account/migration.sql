-- AlterTable
ALTER TABLE "oidc_payload" ADD COLUMN     "account_id" TEXT;

-- CreateIndex
CREATE INDEX "oidc_payload_account_id_kind_idx" ON "oidc_payload"("account_id", "kind");

-- Existing rows: copy the account from the payload.
UPDATE "oidc_payload" SET "account_id" = "payload"->>'accountId' WHERE "payload" ? 'accountId';
