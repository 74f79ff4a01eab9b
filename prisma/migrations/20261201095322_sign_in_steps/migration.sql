-- The stage of a sign-in was implicit before (a row existing meant "some step is pending"), so
-- such rows cannot be given a stage: in-flight sign-ins are dropped and their users start again.
-- DropTable
DROP TABLE "pending_login";

-- CreateTable
CREATE TABLE "sign_in_step" (
    "id" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "amr" TEXT[],
    "fresh_amr" TEXT[],
    "acr" TEXT NOT NULL,
    "remember" BOOLEAN NOT NULL DEFAULT false,
    "auth_time" INTEGER,
    "expires_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "sign_in_step_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sign_in_step_expires_at_idx" ON "sign_in_step"("expires_at");
