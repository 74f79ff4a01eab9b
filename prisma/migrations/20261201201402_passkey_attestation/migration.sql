-- AlterTable
ALTER TABLE "credential" ADD COLUMN     "attestation_format" TEXT NOT NULL DEFAULT 'none',
ADD COLUMN     "attested" BOOLEAN NOT NULL DEFAULT false;
