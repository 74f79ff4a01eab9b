-- AlterTable
ALTER TABLE "pending_login" ADD COLUMN     "remember" BOOLEAN NOT NULL DEFAULT false;
