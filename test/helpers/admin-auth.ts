import { expect, it } from "vitest";
import { expectError } from "./errors";
import { ADMIN_TOKEN, type Gateway } from "./gateway";

/** A concrete request for each admin route pattern (`:id`, `:name`, `:provider` and `:model{…}` filled in). */
export const concrete = (path: string) =>
  path
    .replace(":id", "key_matrix")
    .replace(":name", "matrix-team")
    .replace(":provider", "matrix-provider")
    .replace(/:model(\{[^}]*\})?/, "matrix/model");

/** The credentials an admin route must refuse, each with the headers that present it. */
export const FORGED: [string, (secret: string) => Record<string, string>][] = [
  ["no credentials", () => ({})],
  ["a wrong token", () => ({ authorization: "Bearer wrong-token-wrong-token" })],
  [
    "the token with its last character changed",
    () => ({ authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}X` }),
  ],
  ["the token upper-cased", () => ({ authorization: `Bearer ${ADMIN_TOKEN.toUpperCase()}` })],
  ["the token with a character more", () => ({ authorization: `Bearer ${ADMIN_TOKEN}x` })],
  ["the token without the Bearer scheme", () => ({ authorization: ADMIN_TOKEN })],
  [
    "the token as x-api-key beside a wrong bearer",
    () => ({ authorization: "Bearer nope", "x-api-key": ADMIN_TOKEN }),
  ],
  ["a Sluice key", (secret) => ({ authorization: `Bearer ${secret}` })],
];

/**
 * The same auth cases against one admin route: every forged credential is a 401 `invalid_admin_token` (and
 * writes nothing), the admin token is let through (any status but 401).
 */
export function adminAuthCases(
  setup: () => Promise<{ g: Gateway; secret: string }>,
  method: string,
  path: string,
) {
  const url = concrete(path);
  const body = ["POST", "PUT", "PATCH"].includes(method) ? { body: JSON.stringify({ name: "matrix" }) } : {};
  it(`${method} ${path} refuses every forged credential and lets the admin token through`, async () => {
    const { g, secret } = await setup();
    for (const [what, headers] of FORGED) {
      const res = await g.fetch(url, {
        method,
        headers: { "content-type": "application/json", ...headers(secret) },
        ...body,
      });
      const err = await expectError(res, 401, "invalid_admin_token");
      expect(err.error.type, what).toBe("authentication_error");
    }
    const ok = await g.fetch(url, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      ...body,
    });
    expect(ok.status, `${method} ${url} with the admin token`).not.toBe(401);
    await ok.text();
  });
}
