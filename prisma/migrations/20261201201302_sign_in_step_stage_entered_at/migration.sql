-- AlterTable
ALTER TABLE "sign_in_step" ADD COLUMN     "stage_entered_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
