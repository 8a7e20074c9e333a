import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, gateway } from "../helpers/gateway";
import { targetId } from "./fixtures";

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe("The dashboard's target health table", () => {
  it("shows a breaker opened by hand as open, by hand", async () => {
    const g = gateway();
    const id = targetId();
    const put = await g.fetch(`/admin/breakers/${id}`, {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ state: "open" }),
    });
    expect(put.status).toBe(200);
    const res = await g.fetch("/dashboard", { headers: auth });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('data-testid="health"');
    const row = html.match(new RegExp(`<tr data-target="${id}" data-state="([a-z-]+)">(.*?)</tr>`));
    expect(row?.[1]).toBe("open");
    expect(row?.[2]).toContain("(by hand)");
    await g.settle();
  });
});
