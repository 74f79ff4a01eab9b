-- AlterTable
ALTER TABLE "client" ADD COLUMN     "backchannel_logout_uri" TEXT;
