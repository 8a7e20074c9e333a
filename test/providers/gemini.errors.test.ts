import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectError } from "../helpers/errors";
import { gateway, post } from "../helpers/gateway";
import { GEMINI_KEY, GEMINI_ORIGIN, GeminiFake, geminiConfig } from "../helpers/gemini-upstream";
import { installUpstreams } from "../helpers/upstream";

let gemini: GeminiFake;
beforeEach(() => {
  gemini = installUpstreams().mount(GEMINI_ORIGIN, new GeminiFake({ apiKey: GEMINI_KEY }));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function chat(body: Record<string, unknown>, apiKey = GEMINI_KEY) {
  const g = gateway(geminiConfig(), { GEMINI_API_KEY: apiKey });
  const key = await g.createKey();
  return g.fetch("/v1/chat/completions", post({ model: "chat", ...body }, key));
}
const hi = { messages: [{ role: "user", content: "Hi" }] };

describe("gemini errors", () => {
  it("turns Google's 400 API_KEY_INVALID into 502 upstream_auth_failed, like any refused provider key", async () => {
    const body = await expectError(await chat(hi, "AIza-wrong"), 502, "upstream_auth_failed");
    expect(body.error.message).toContain("API key not valid");
  });

  it("keeps a 429 RESOURCE_EXHAUSTED with its message, type from the status and the rate-limit code", async () => {
    gemini.failNext({
      status: 429,
      googleStatus: "RESOURCE_EXHAUSTED",
      message: "Resource has been exhausted (e.g. check quota).",
    });
    const body = await expectError(await chat(hi), 429, "upstream_rate_limited");
    expect(body.error).toMatchObject({
      type: "resource_exhausted",
      message: "Resource has been exhausted (e.g. check quota).",
    });
  });

  it("passes Google's 400 INVALID_ARGUMENT on with its message", async () => {
    gemini.failNext({
      status: 400,
      googleStatus: "INVALID_ARGUMENT",
      message: "The input token count exceeds the maximum.",
    });
    const body = await expectError(await chat(hi), 400, "upstream_error");
    expect(body.error).toMatchObject({
      type: "invalid_argument",
      message: "The input token count exceeds the maximum.",
    });
  });

  it("refuses a tool result whose id matches no earlier tool call, before calling Gemini", async () => {
    const res = await chat({
      messages: [
        { role: "user", content: "Hi" },
        { role: "tool", tool_call_id: "call_9", content: "x" },
      ],
    });
    await expectError(res, 400, "invalid_request", "messages[1].tool_call_id");
    expect(gemini.requests).toHaveLength(0);
  });

  it("refuses a conversation with only system messages, which Gemini cannot take", async () => {
    await expectError(
      await chat({ messages: [{ role: "system", content: "x" }] }),
      400,
      "invalid_request",
      "messages",
    );
    expect(gemini.requests).toHaveLength(0);
  });
});
