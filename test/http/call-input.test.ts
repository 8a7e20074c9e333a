import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/http/context";
import { callInput } from "../../src/inbound/handle";
import type { KeyRecord } from "../../src/keys/store";

const KEY = { id: "key_input", name: "input" } as KeyRecord;

/** An app whose one route answers with what callInput made of the request. */
function app() {
  const a = new Hono<AppEnv>();
  a.post("/v1/messages", (c) => {
    c.set("requestId", "req_gateway");
    c.set("clientRequestId", "client-1");
    c.set("key", KEY);
    c.set("token", null);
    const input = callInput(c.req.raw, c.var, '{"a":1}', { a: 1 });
    return c.json({
      query: input.query,
      requestId: input.requestId,
      clientRequestId: input.clientRequestId,
      keyId: input.key.id,
      token: input.token,
      raw: input.raw,
      json: input.json,
      headerSeen: input.headers.get("x-probe"),
      signal: input.signal instanceof AbortSignal,
    });
  });
  return a;
}

describe("callInput", () => {
  it("takes the query string as URL.search does", async () => {
    for (const tail of ["", "?", "?beta=true", "?a=1&b=%20x", "?x=?y"]) {
      const url = `http://gw.test/v1/messages${tail}`;
      const res = await app().request(url, { method: "POST", body: "{}" });
      const got = (await res.json()) as { query: string };
      expect(got.query, tail || "(none)").toBe(new URL(url).search);
    }
  });

  it("carries the ids, key, token, body, headers and signal of the request", async () => {
    const res = await app().request("http://gw.test/v1/messages", {
      method: "POST",
      body: "{}",
      headers: { "x-probe": "here" },
    });
    expect(await res.json()).toEqual({
      query: "",
      requestId: "req_gateway",
      clientRequestId: "client-1",
      keyId: "key_input",
      token: null,
      raw: '{"a":1}',
      json: { a: 1 },
      headerSeen: "here",
      signal: true,
    });
  });
});
