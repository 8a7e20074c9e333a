import { describe, expect, it } from "vitest";
import { adminHeaders, expectError } from "../helpers/errors";
import { ADMIN_TOKEN, gateway, post } from "../helpers/gateway";

const hi = [{ role: "user", content: "hi" }];
const CHAT = "/v1/chat/completions";

async function setup(
  keyBody: Record<string, unknown> = { name: "errors" },
  config?: Record<string, unknown>,
) {
  const g = gateway(config);
  return { g, key: await g.createKey(keyBody) };
}

describe("chat completions refuse bad input with 400", () => {
  it("answers invalid_json for a body that is not JSON", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(CHAT, post('{"model": "mock/echo", "messages": [', key));
    const body = await expectError(res, 400, "invalid_json");
    expect(body.error.type).toBe("invalid_request_error");
  });

  it("answers invalid_json for an empty body", async () => {
    const { g, key } = await setup();
    await expectError(await g.fetch(CHAT, post("", key)), 400, "invalid_json");
  });

  it("answers invalid_request for JSON that is not an object", async () => {
    const { g, key } = await setup();
    for (const text of ["[]", "null", '"hello"', "42"]) {
      await expectError(await g.fetch(CHAT, post(text, key)), 400, "invalid_request");
    }
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ["messages as a string", { model: "mock/echo", messages: "hi" }, "messages"],
    ["missing messages", { model: "mock/echo" }, "messages"],
    ["empty messages", { model: "mock/echo", messages: [] }, "messages"],
    ["a message without a role", { model: "mock/echo", messages: [{ content: "hi" }] }, "messages[0].role"],
    [
      "a message with an unknown role",
      { model: "mock/echo", messages: [hi[0], { role: "robot", content: "x" }] },
      "messages[1].role",
    ],
    [
      "a message content that is a number",
      { model: "mock/echo", messages: [{ role: "user", content: 5 }] },
      "messages[0].content",
    ],
    ["missing model", { messages: hi }, "model"],
    ["an empty model", { model: "", messages: hi }, "model"],
    ["model as a number", { model: 4, messages: hi }, "model"],
    ['stream as "yes"', { model: "mock/echo", messages: hi, stream: "yes" }, "stream"],
    ["max_tokens of -1", { model: "mock/echo", messages: hi, max_tokens: -1 }, "max_tokens"],
    ["max_tokens as a string", { model: "mock/echo", messages: hi, max_tokens: "10" }, "max_tokens"],
    ["a fractional max_tokens", { model: "mock/echo", messages: hi, max_tokens: 1.5 }, "max_tokens"],
    ["temperature above 2", { model: "mock/echo", messages: hi, temperature: 3 }, "temperature"],
    ["tools as an object", { model: "mock/echo", messages: hi, tools: { type: "function" } }, "tools"],
    [
      "stream_options.include_usage as a string",
      { model: "mock/echo", messages: hi, stream: true, stream_options: { include_usage: "yes" } },
      "stream_options.include_usage",
    ],
  ];
  for (const [what, payload, param] of cases) {
    it(`names ${param} for ${what}`, async () => {
      const { g, key } = await setup();
      const body = await expectError(await g.fetch(CHAT, post(payload, key)), 400, "invalid_request", param);
      expect(body.error.type).toBe("invalid_request_error");
      expect(body.error.message).toContain(param);
    });
  }

  it("names the first problem and describes every one in the message", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(CHAT, post({ model: "mock/echo", messages: "x", max_tokens: -1 }, key));
    const body = await expectError(res, 400, "invalid_request", "messages");
    expect(body.error.message).toContain("max_tokens");
  });
});

describe("chat completions refuse unknown and forbidden models", () => {
  it("answers 404 model_not_found naming model for a model nobody configured", async () => {
    const { g, key } = await setup();
    const body = await expectError(
      await g.fetch(CHAT, post({ model: "gpt-9", messages: hi }, key)),
      404,
      "model_not_found",
      "model",
    );
    expect(body.error.type).toBe("not_found_error");
    expect(body.error.message).toContain("gpt-9");
  });

  it("answers 404 for provider/model when the provider is not configured", async () => {
    const { g, key } = await setup();
    await expectError(
      await g.fetch(CHAT, post({ model: "nope/echo", messages: hi }, key)),
      404,
      "model_not_found",
      "model",
    );
  });

  for (const model of [
    "constructor",
    "__proto__",
    "toString",
    "constructor/x",
    "__proto__/gpt-4o",
    "hasOwnProperty/x",
  ]) {
    it(`answers 404, not a 500 or 502, for the inherited object name ${model}`, async () => {
      const { g, key } = await setup();
      for (const path of [CHAT, "/v1/embeddings"]) {
        const payload = path === CHAT ? { model, messages: hi } : { model, input: "x" };
        await expectError(await g.fetch(path, post(payload, key)), 404, "model_not_found", "model");
      }
    });
  }

  it("answers 403 model_not_allowed for a model outside the key's patterns, and serves one inside", async () => {
    const { g, key } = await setup({ name: "lorem only", models: ["mock/l*"] });
    const body = await expectError(
      await g.fetch(CHAT, post({ model: "mock/echo", messages: hi }, key)),
      403,
      "model_not_allowed",
      "model",
    );
    expect(body.error.type).toBe("permission_error");
    expect(body.error.message).toContain("mock/echo");
    // An alias that routes to an allowed upstream model is still a different model name.
    await expectError(
      await g.fetch(CHAT, post({ model: "demo", messages: hi }, key)),
      403,
      "model_not_allowed",
      "model",
    );
    const ok = await g.fetch(CHAT, post({ model: "mock/lorem", messages: hi }, key));
    expect(ok.status).toBe(200);
    await g.settle();
  });

  it("treats pattern characters other than * literally", async () => {
    const { g, key } = await setup({ name: "dots", models: ["mock/e.ho"] });
    await expectError(
      await g.fetch(CHAT, post({ model: "mock/echo", messages: hi }, key)),
      403,
      "model_not_allowed",
      "model",
    );
  });

  it("refuses a forbidden model on embeddings too", async () => {
    const { g, key } = await setup({ name: "lorem only", models: ["mock/l*"] });
    await expectError(
      await g.fetch("/v1/embeddings", post({ model: "mock/echo", input: "x" }, key)),
      403,
      "model_not_allowed",
      "model",
    );
  });
});

describe("bodies over limits.maxBodyBytes are refused with 413", () => {
  const config = { providers: { mock: { type: "mock" } }, limits: { maxBodyBytes: 2048 } };
  const big = () => ({ model: "mock/echo", messages: [{ role: "user", content: "x".repeat(4000) }] });

  it("by Content-Length", async () => {
    const { g, key } = await setup(undefined, config);
    const text = JSON.stringify(big());
    const init = post(text, key, { "content-length": String(new TextEncoder().encode(text).length) });
    const res = await g.fetch(CHAT, init);
    // Refused before any route ran, it still carries the request's ids and nosniff.
    expect(res.headers.get("x-sluice-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    expect(res.headers.get("x-request-id")).toBe(res.headers.get("x-sluice-request-id"));
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const body = await expectError(res, 413, "request_too_large");
    expect(body.error.message).toContain("2048");
  });

  it("while streaming a chunked body without Content-Length", async () => {
    const { g, key } = await setup(undefined, config);
    const bytes = new TextEncoder().encode(JSON.stringify(big()));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(sent, sent + 512));
        sent += 512;
      },
    });
    const req = new Request("http://sluice.test/x", {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    });
    expect(req.headers.get("content-length")).toBeNull();
    const res = await g.fetch(CHAT, req);
    expect(res.headers.get("x-sluice-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    await expectError(res, 413, "request_too_large");
  });

  it("still accepts a body under the limit, streamed or not", async () => {
    const { g, key } = await setup(undefined, config);
    const text = JSON.stringify({ model: "mock/echo", messages: hi });
    expect((await g.fetch(CHAT, post(text, key))).status).toBe(200);
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 10));
        controller.enqueue(bytes.slice(10));
        controller.close();
      },
    });
    const res = await g.fetch(CHAT, {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    expect(
      ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
    ).toBe("You said: hi");
    await g.settle();
  });

  it("applies to the admin API as well", async () => {
    const g = gateway(config);
    const res = await g.fetch("/admin/keys", {
      method: "POST",
      headers: adminHeaders(ADMIN_TOKEN),
      body: JSON.stringify({ name: "x".repeat(3000) }),
    });
    await expectError(res, 413, "request_too_large");
  });
});

describe("chat completions refuse missing, malformed and revoked keys with 401", () => {
  it("answers missing_api_key without an Authorization header", async () => {
    const g = gateway();
    const body = await expectError(
      await g.fetch(CHAT, post({ model: "mock/echo", messages: hi })),
      401,
      "missing_api_key",
    );
    expect(body.error.type).toBe("authentication_error");
  });

  const malformed: [string, string, string][] = [
    ["a key of the wrong shape", "Bearer not-a-key", "invalid_api_key"],
    ["a well-formed key nobody issued", `Bearer sk-sluice-${"A".repeat(40)}`, "invalid_api_key"],
    ["a key one character short", `Bearer sk-sluice-${"A".repeat(39)}`, "invalid_api_key"],
    ["an OpenAI key", `Bearer sk-proj-${"A".repeat(40)}`, "invalid_api_key"],
    ["a Basic scheme instead of Bearer", "Basic dXNlcjpwYXNz", "missing_api_key"],
    ["an empty Bearer", "Bearer ", "missing_api_key"],
  ];
  for (const [what, authorization, code] of malformed) {
    it(`answers ${code} for ${what}`, async () => {
      const g = gateway();
      const res = await g.fetch(
        CHAT,
        post({ model: "mock/echo", messages: hi }, undefined, { authorization }),
      );
      const body = await expectError(res, 401, code);
      expect(body.error.type).toBe("authentication_error");
    });
  }

  it("answers invalid_api_key for a revoked key", async () => {
    const { g, key } = await setup();
    const id = (
      (await (await g.fetch("/admin/keys?limit=1000", { headers: adminHeaders(ADMIN_TOKEN) })).json()) as {
        data: { id: string; prefix: string }[];
      }
    ).data.find((k) => key.startsWith(k.prefix.replace("…", "")))?.id;
    expect(id).toBeDefined();
    await g.fetch(`/admin/keys/${id}`, { method: "DELETE", headers: adminHeaders(ADMIN_TOKEN) });
    await expectError(
      await g.fetch(CHAT, post({ model: "mock/echo", messages: hi }, key)),
      401,
      "invalid_api_key",
    );
  });

  it("checks the key before reading the body, so a bad body without a key is a 401", async () => {
    const g = gateway();
    await expectError(await g.fetch(CHAT, post("{not json")), 401, "missing_api_key");
  });
});

describe("routing errors", () => {
  it("answers 404 JSON for an unknown route", async () => {
    const g = gateway();
    const body = await expectError(await g.fetch("/nope"), 404, "not_found");
    expect(body.error.message).toContain("/nope");
  });

  it("answers 404 JSON for an unknown /v1 route when the key is valid", async () => {
    const { g, key } = await setup();
    await expectError(await g.fetch("/v1/completions-typo", post({}, key)), 404, "not_found");
  });

  it("answers 404 JSON for an unknown /admin route when the token is valid", async () => {
    const res = await gateway().fetch("/admin/nothing-here", { headers: adminHeaders(ADMIN_TOKEN) });
    await expectError(res, 404, "not_found");
  });

  it("answers 405 for GET on /v1/chat/completions and /v1/embeddings", async () => {
    const { g, key } = await setup();
    for (const path of [CHAT, "/v1/embeddings"]) {
      const res = await g.fetch(path, { headers: { authorization: `Bearer ${key}` } });
      // RFC 9110: a 405 lists the methods the resource supports.
      expect(res.headers.get("allow")).toBe("POST");
      const body = await expectError(res, 405, "method_not_allowed");
      expect(body.error.message).toContain("POST");
    }
  });
});

describe("embeddings refuse bad input with 400", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["missing input", { model: "mock/echo" }, "input"],
    ["an empty input array", { model: "mock/echo", input: [] }, "input"],
    ["input as a number", { model: "mock/echo", input: 5 }, "input"],
    ["input as an object", { model: "mock/echo", input: { text: "x" } }, "input"],
    ["missing model", { input: "x" }, "model"],
    [
      "an unknown encoding_format",
      { model: "mock/echo", input: "x", encoding_format: "hex" },
      "encoding_format",
    ],
    ["dimensions of 0", { model: "mock/echo", input: "x", dimensions: 0 }, "dimensions"],
  ];
  for (const [what, payload, param] of cases) {
    it(`names ${param} for ${what}`, async () => {
      const { g, key } = await setup();
      await expectError(await g.fetch("/v1/embeddings", post(payload, key)), 400, "invalid_request", param);
    });
  }

  it("answers invalid_json for a body that is not JSON", async () => {
    const { g, key } = await setup();
    await expectError(await g.fetch("/v1/embeddings", post("input=x", key)), 400, "invalid_json");
  });

  it("answers 404 model_not_found for an unknown model", async () => {
    const { g, key } = await setup();
    await expectError(
      await g.fetch("/v1/embeddings", post({ model: "text-embedding-9", input: "x" }, key)),
      404,
      "model_not_found",
      "model",
    );
  });
});

describe("every error keeps the client's request id", () => {
  it("echoes a sane x-request-id and replaces an unsafe one", async () => {
    const g = gateway();
    const mine = await g.fetch("/nope", { headers: { "x-request-id": "client-req.42" } });
    expect(mine.headers.get("x-request-id")).toBe("client-req.42");
    const unsafe = await g.fetch("/nope", { headers: { "x-request-id": "bad id<script>" } });
    expect(unsafe.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    const generated = await g.fetch("/nope");
    expect(generated.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it("gives an upstream failure after fallbacks the error shape too, not a 500", async () => {
    const { g, key } = await setup();
    const body = await expectError(
      await g.fetch(CHAT, post({ model: "mock/fail-503", messages: hi }, key)),
      503,
      "upstream_error",
    );
    expect(body.error.message).toContain("fail-503");
    await g.settle();
  });
});

describe("every answer under /v1/messages is in Anthropic's shape", () => {
  /** Asserts `{"type":"error","error":{"type","message"}}` with the status and the Anthropic error type. */
  async function expectAnthropic(res: Response, status: number, type: string) {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = JSON.parse(text) as { type: string; error: { type: string; message: string } };
    expect(Object.keys(body).sort()).toEqual(["error", "type"]);
    expect(body.type).toBe("error");
    expect(body.error.type).toBe(type);
    expect(body.error.message.length).toBeGreaterThan(0);
    return res;
  }

  for (const method of ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "MKCOL"]) {
    it(`${method} /v1/messages with a key is a 405 with Allow: POST`, async () => {
      const g = gateway();
      const key = await g.createKey();
      const res = await g.fetch("/v1/messages", { method, headers: { "x-api-key": key } });
      expect((await expectAnthropic(res, 405, "invalid_request_error")).headers.get("allow")).toBe("POST");
    });
  }

  it("an unknown path below it is a 404 not_found_error; without a key, a 401 authentication_error", async () => {
    const g = gateway();
    const key = await g.createKey();
    await expectAnthropic(
      await g.fetch("/v1/messages/nope", post({}, undefined, { "x-api-key": key })),
      404,
      "not_found_error",
    );
    await expectAnthropic(await g.fetch("/v1/messages/nope", post({})), 401, "authentication_error");
    await expectAnthropic(await g.fetch("/v1/messages", { method: "PROPFIND" }), 401, "authentication_error");
  });

  it("while other paths keep OpenAI's shape", async () => {
    const g = gateway();
    const key = await g.createKey();
    await expectError(
      await g.fetch("/v1/chat/completions", {
        method: "PROPFIND",
        headers: { authorization: `Bearer ${key}` },
      }),
      405,
      "method_not_allowed",
    );
    await expectError(await g.fetch("/v1/messagesx", post({}, key)), 404, "not_found");
  });
});

describe("every answer says nosniff", () => {
  it("on success, errors, the dashboard and unknown routes", async () => {
    const g = gateway();
    const key = await g.createKey();
    const answers = await Promise.all([
      g.fetch("/healthz"),
      g.fetch(
        "/v1/chat/completions",
        post({ model: "mock/echo", messages: [{ role: "user", content: "hi" }] }, key),
      ),
      g.fetch("/v1/chat/completions", post("{", key)),
      g.fetch("/nope"),
      g.fetch("/dashboard"),
      g.fetch("/v1/models", {
        method: "OPTIONS",
        headers: { origin: "https://x.example", "access-control-request-method": "GET" },
      }),
    ]);
    for (const res of answers) expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
