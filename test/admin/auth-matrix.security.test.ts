import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { adminAuthCases } from "../helpers/admin-auth";
import { gateway } from "../helpers/gateway";

/** Every route the app mounts under /admin, from the app itself: a new admin route cannot miss these cases. */
const ADMIN_ROUTES = [
  ...new Map(
    createApp()
      .routes.filter((r) => r.path.startsWith("/admin/") && r.method !== "ALL")
      .map((r) => [`${r.method} ${r.path}`, r] as const),
  ).values(),
];

describe("The admin-auth matrix", () => {
  it("covers the admin routes the app mounts", () => {
    const names = ADMIN_ROUTES.map((r) => `${r.method} ${r.path}`);
    for (const known of [
      "POST /admin/keys",
      "DELETE /admin/keys/:id",
      "PUT /admin/teams/:name",
      "GET /admin/spend",
      "GET /admin/health",
      "PUT /admin/breakers/:provider/:model{.+}",
    ])
      expect(names).toContain(known);
  });

  const setup = async () => {
    const g = gateway();
    return { g, secret: await g.createKey({ name: "not-an-admin" }) };
  };
  for (const r of ADMIN_ROUTES) adminAuthCases(setup, r.method, r.path);
});
