import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateway, post } from "../helpers/gateway";
import { type FakeUpstream, installUpstreams } from "../helpers/upstream";

const CONFIG = {
  providers: { openai: { type: "openai", apiKey: "env:OPENAI_API_KEY" } },
  models: {},
};
const hi = [{ role: "user", content: "hi" }];

interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

let openai: FakeUpstream;
beforeEach(() => {
  openai = installUpstreams().add("https://api.openai.com", { apiKey: "sk-right" });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(apiKey = "sk-right") {
  const g = gateway(CONFIG, { OPENAI_API_KEY: apiKey });
  return { g, key: await g.createKey() };
}

describe("OpenAI provider: upstream errors reach the client", () => {
  it("turns the provider refusing the gateway's own key into a 502, so the client does not blame its Sluice key", async () => {
    const { g, key } = await setup("sk-wrong");
    const res = await g.fetch("/v1/chat/completions", post({ model: "openai/gpt-4o", messages: hi }, key));
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(502);
    expect(body.error.message).toMatch(
      /^Provider 'openai' refused the gateway's credentials \(401\): Incorrect API key provided/,
    );
    expect(body.error.code).toBe("upstream_auth_failed");
    // A 401 is not worth retrying at the same provider.
    expect(openai.requests).toHaveLength(1);
  });

  it("returns the upstream's 400 with its message and param for a tool message without a matching tool call", async () => {
    const { g, key } = await setup();
    const messages = [
      { role: "user", content: "weather?" },
      { role: "tool", tool_call_id: "call_nope", content: "sunny" },
    ];
    const res = await g.fetch("/v1/chat/completions", post({ model: "openai/gpt-4o", messages }, key));
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(400);
    expect(body.error.message).toContain(
      "messages with role 'tool' must be a response to a preceeding message",
    );
    expect(body.error.param).toBe("messages.[1].role");
    expect(body.error.type).toBe("invalid_request_error");
  });

  it("passes stream_options on a non-streamed call through, so the client gets OpenAI's own 400 for it", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "openai/gpt-4o", messages: hi, stream_options: { include_usage: true } }, key),
    );
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(400);
    expect(body.error.param).toBe("stream_options");
    expect(body.error.message).toBe(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
    );
  });

  it("keeps an upstream error's own code (context_length_exceeded)", async () => {
    const { g, key } = await setup();
    openai.failNext(1, {
      status: 400,
      message: "This model's maximum context length is 128000 tokens.",
      code: "context_length_exceeded",
      param: "messages",
    });
    const res = await g.fetch("/v1/chat/completions", post({ model: "openai/gpt-4o", messages: hi }, key));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: "This model's maximum context length is 128000 tokens.",
        type: "invalid_request_error",
        code: "context_length_exceeded",
        param: "messages",
      },
    });
  });

  it("turns a non-JSON upstream error page into an error with its text", async () => {
    const { g, key } = await setup();
    vi.mocked(globalThis.fetch).mockImplementationOnce(
      async () =>
        new Response("<html>502 Bad Gateway</html>", {
          status: 502,
          headers: { "content-type": "text/html" },
        }),
    );
    const res = await g.fetch("/v1/chat/completions", post({ model: "openai/gpt-4o", messages: hi }, key));
    const body = (await res.json()) as ErrorBody;
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(body.error.message).toContain("502 Bad Gateway");
  });
});
