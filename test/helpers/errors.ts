import { expect } from "vitest";

/** The one error body shape (OpenAI's). */
export interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

/**
 * Asserts that a response is a Sluice error: the given status, JSON (never HTML) of exactly
 * `{"error":{"message","type","code","param"}}`, with `x-request-id` set. Returns the body for further checks.
 *
 * @example const body = await expectError(res, 400, "invalid_request", "messages")
 */
export async function expectError(
  res: Response,
  status: number,
  code: string,
  param: string | null = null,
): Promise<ErrorBody> {
  const text = await res.text();
  expect(res.status, `status of ${text}`).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.headers.get("x-request-id")).toMatch(/\S/);
  expect(text).not.toMatch(/<html|<!doctype/i);
  const body = JSON.parse(text) as ErrorBody;
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  // Never a stack trace in the message.
  expect(body.error.message).not.toMatch(/\n\s+at /);
  expect(typeof body.error.type).toBe("string");
  expect(body.error.code).toBe(code);
  expect(body.error.param).toBe(param);
  return body;
}

/** The admin bearer header for the test environment's ADMIN_TOKEN. */
export function adminHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, "content-type": "application/json" };
}
