-- AlterTable
ALTER TABLE "client" ADD COLUMN     "id_token_alg" TEXT;
