-- AlterTable
ALTER TABLE "client" ADD COLUMN     "client_uri" TEXT,
ADD COLUMN     "logo_uri" TEXT,
ADD COLUMN     "policy_uri" TEXT,
ADD COLUMN     "tos_uri" TEXT;

-- AlterTable
ALTER TABLE "user" ADD COLUMN     "role" TEXT NOT NULL DEFAULT 'user',
ADD COLUMN     "username" TEXT;

-- CreateTable
CREATE TABLE "group" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "group_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "group_member" (
    "group_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_member_pkey" PRIMARY KEY ("group_id","user_id")
);

-- CreateTable
CREATE TABLE "client_allowed_group" (
    "client_id" TEXT NOT NULL,
    "group_id" TEXT NOT NULL,

    CONSTRAINT "client_allowed_group_pkey" PRIMARY KEY ("client_id","group_id")
);

-- CreateTable
CREATE TABLE "custom_claim" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "user_id" TEXT,
    "group_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "custom_claim_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "group_name_key" ON "group"("name");

-- CreateIndex
CREATE INDEX "group_member_user_id_idx" ON "group_member"("user_id");

-- CreateIndex
CREATE INDEX "client_allowed_group_group_id_idx" ON "client_allowed_group"("group_id");

-- CreateIndex
CREATE UNIQUE INDEX "custom_claim_user_id_name_key" ON "custom_claim"("user_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "custom_claim_group_id_name_key" ON "custom_claim"("group_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "user_username_key" ON "user"("username");

-- AddForeignKey
ALTER TABLE "group_member" ADD CONSTRAINT "group_member_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_member" ADD CONSTRAINT "group_member_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "client_allowed_group" ADD CONSTRAINT "client_allowed_group_client_id_fkey" FOREIGN KEY ("client_id") REFERENCES "client"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "client_allowed_group" ADD CONSTRAINT "client_allowed_group_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "group"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "custom_claim" ADD CONSTRAINT "custom_claim_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "custom_claim" ADD CONSTRAINT "custom_claim_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A claim belongs to a person or to a group (never both or neither), and roles are a closed set.
ALTER TABLE "custom_claim" ADD CONSTRAINT "custom_claim_one_owner" CHECK (("user_id" IS NULL) <> ("group_id" IS NULL));
ALTER TABLE "user" ADD CONSTRAINT "user_role_known" CHECK ("role" IN ('user', 'operator'));
