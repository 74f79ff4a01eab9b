-- AlterTable
ALTER TABLE "client" ADD COLUMN     "access_token_format" TEXT NOT NULL DEFAULT 'opaque';
