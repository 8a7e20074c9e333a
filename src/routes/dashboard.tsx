import type { Context } from "hono";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { loadDashboard, parseView } from "../dashboard/data";
import { endSession, hasSession, startSession } from "../dashboard/session";
import { DashboardPage, ErrorPage, SignIn } from "../dashboard/views";
import type { AppEnv } from "../http/context";
import { safeEqual } from "../keys/secret";
import { targetHealth } from "../routing/breaker/health";

/** Dashboard pages: never cached, never framed, nothing loaded from elsewhere, no script at all. */
const pageHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.res.headers.set("cache-control", "no-store");
  c.res.headers.set(
    "content-security-policy",
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  c.res.headers.set("x-frame-options", "DENY");
  c.res.headers.set("referrer-policy", "same-origin"); // no-referrer would make form posts send `Origin: null`
  c.res.headers.set("x-content-type-options", "nosniff");
});

/**
 * A form POST from another site is refused (SameSite=Strict already keeps the cookie off it). The Origin is
 * compared with the Host the browser addressed (the Worker's own URL can differ behind a local proxy).
 */
function crossSite(c: Context<AppEnv>): boolean {
  const origin = c.req.header("origin");
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== (c.req.header("host") ?? new URL(c.req.url).host);
  } catch {
    return true; // "null" (a sandboxed or privacy-sensitive context) or garbage
  }
}

/** Signed in by the session cookie, or by `Authorization: Bearer <ADMIN_TOKEN>` (scripts, curl). */
async function signedIn(c: Context<AppEnv>): Promise<boolean> {
  if (await hasSession(c)) return true;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  return m?.[1] !== undefined && (await safeEqual(m[1], c.env.ADMIN_TOKEN));
}

/**
 * `/dashboard` — spend at a glance, server-rendered (hono/jsx), no client script. Signed out, it shows the
 * sign-in form and nothing else; `POST /dashboard/login` takes the admin token and sets the session cookie;
 * `POST /dashboard/logout` clears it.
 */
export const dashboard = new Hono<AppEnv>()
  .use("/dashboard", pageHeaders)
  .use("/dashboard/*", pageHeaders)
  .get("/dashboard", async (c) => {
    if (!(await signedIn(c))) return c.html(<SignIn />);
    const view = parseView(c.req.query());
    if ("error" in view) return c.html(<ErrorPage message={view.error} />, 400);
    const s = c.var.services;
    const [data, health] = await Promise.all([
      loadDashboard(c.env.DB, s.keys, view),
      targetHealth(s.env, s.waitUntil),
    ]);
    return c.html(<DashboardPage view={view} data={data} health={health} />);
  })
  .post("/dashboard/login", async (c) => {
    if (crossSite(c)) return c.html(<SignIn error="Sign-in from another site was refused." />, 403);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form.token === "string" ? form.token : "";
    if (!token || !(await safeEqual(token, c.env.ADMIN_TOKEN))) {
      return c.html(<SignIn error="That is not the admin token." />, 401);
    }
    await startSession(c);
    return c.redirect("/dashboard", 303);
  })
  .post("/dashboard/logout", (c) => {
    if (crossSite(c)) return c.html(<ErrorPage message="Sign-out from another site was refused." />, 403);
    endSession(c);
    return c.redirect("/dashboard", 303);
  });
