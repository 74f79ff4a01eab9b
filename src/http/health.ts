import Router from "@koa/router";
import type { Db } from "../db/open-database.js";

/** `/healthz`: the process answers. `/readyz`: and its database does. */
export function healthRoutes(db: Db): Router {
  const router = new Router();
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    try {
      await db.$queryRaw`SELECT 1`;
      ctx.body = { status: "ready" };
    } catch (error) {
      ctx.state.log?.warn({ err: error }, "database not reachable");
      ctx.status = 503;
      ctx.body = { status: "unavailable", reason: "database not reachable" };
    }
  });
  return router;
}
