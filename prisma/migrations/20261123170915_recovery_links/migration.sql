-- AlterTable
ALTER TABLE "email_link" ADD COLUMN     "factor_verified_at" TIMESTAMP(3),
ADD COLUMN     "not_before" TIMESTAMP(3);
