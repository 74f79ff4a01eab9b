import { describe, expect, it } from "vitest";
import { breakdown, classify, statementsIn } from "../../bench/statement-log.js";

const LOG = [
  "2026-12-01 14:44:27.504 UTC [26628] idp_ci@idp_test_a LOG:  statement: BEGIN",
  '2026-12-01 14:44:27.505 UTC [26628] idp_ci@idp_test_a LOG:  execute <unnamed>: SELECT "public"."user"."id" FROM "public"."user" WHERE',
  '\t"public"."user"."id" = $1',
  "2026-12-01 14:44:27.505 UTC [26628] idp_ci@idp_test_a DETAIL:  parameters: $1 = 'x'",
  "2026-12-01 14:44:27.506 UTC [26629] idp_ci@idp_test_b LOG:  statement: COMMIT",
  "2026-12-01 14:44:27.507 UTC [23628] LOG:  checkpoint starting: immediate force wait",
  "2026-12-01 14:44:27.508 UTC [26628] idp_ci@idp_test_a LOG:  execute idp_store: INSERT INTO oidc_payload (id) VALUES ($1)",
  "",
].join("\n");

describe("the PostgreSQL statement log", () => {
  it("finds one database's statements, multi-line ones whole, and skips details and other databases", () => {
    expect(statementsIn(LOG, "idp_test_a").map((s) => s.sql)).toEqual([
      "BEGIN",
      'SELECT "public"."user"."id" FROM "public"."user" WHERE\n\t"public"."user"."id" = $1',
      "INSERT INTO oidc_payload (id) VALUES ($1)",
    ]);
  });

  it("classifies statements by kind and table", () => {
    expect(classify('SELECT "public"."user"."id" FROM "public"."user" WHERE id = $1')).toEqual({ kind: "SELECT", tables: ["user"] });
    expect(classify('SELECT "payload", (EXTRACT(EPOCH FROM "expires_at") * 1000) FROM "oidc_payload" WHERE "id_hash" = $1')).toEqual({
      kind: "SELECT",
      tables: ["oidc_payload"],
    });
    expect(classify("SELECT pg_notify('idp', $1)")).toEqual({ kind: "NOTIFY", tables: [] });
    expect(classify("WITH c AS (UPDATE oidc_payload SET consumed = 1 RETURNING id) INSERT INTO oidc_payload SELECT * FROM c")).toEqual({
      kind: "UPDATE",
      tables: ["oidc_payload"],
    });
    expect(classify('DELETE FROM "public"."rate_limit" WHERE key = $1')).toEqual({ kind: "DELETE", tables: ["rate_limit"] });
  });

  it("counts by kind and by kind and table", () => {
    expect(breakdown(statementsIn(LOG, "idp_test_a")).byKind).toEqual([
      ["BEGIN", 1],
      ["INSERT", 1],
      ["SELECT", 1],
    ]);
  });
});
