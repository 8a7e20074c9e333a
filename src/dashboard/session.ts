import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { sign, verified } from "../crypto/signing";
import type { AppEnv } from "../http/context";

const COOKIE = "sluice_session";
const PURPOSE = "sluice-dashboard-session-v1";
/** A dashboard session lasts 12 hours; then the admin token is asked again. */
export const SESSION_SECONDS = 12 * 3600;

const cookieOptions = (c: Context<AppEnv>) => ({
  path: "/dashboard",
  httpOnly: true,
  sameSite: "Strict" as const,
  secure: new URL(c.req.url).protocol === "https:",
});

/**
 * Starts a session: an HttpOnly, SameSite=Strict cookie holding its expiry, signed with a key derived from
 * ADMIN_TOKEN for this purpose. Nothing is stored server-side; rotating ADMIN_TOKEN ends every session.
 */
export async function startSession(c: Context<AppEnv>, now = Date.now()): Promise<void> {
  const exp = now + SESSION_SECONDS * 1000;
  setCookie(c, COOKIE, await sign(`v1:${exp}`, c.env.ADMIN_TOKEN, PURPOSE), {
    ...cookieOptions(c),
    maxAge: SESSION_SECONDS,
  });
}

export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, COOKIE, cookieOptions(c));
}

/** Whether the request carries a valid, unexpired session cookie. */
export async function hasSession(c: Context<AppEnv>, now = Date.now()): Promise<boolean> {
  const cookie = getCookie(c, COOKIE);
  if (!cookie) return false;
  const payload = await verified(cookie, c.env.ADMIN_TOKEN, PURPOSE);
  const m = payload ? /^v1:(\d+)$/.exec(payload) : null;
  return m !== null && Number(m[1]) > now;
}
