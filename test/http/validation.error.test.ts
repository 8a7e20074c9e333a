import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { expectError } from "../helpers/errors";
import { gateway, post } from "../helpers/gateway";
import { installUpstreams } from "../helpers/upstream";

/**
 * Values of the wrong type where a translator reads a string or an object are a 400 naming the parameter,
 * before anything is sent to a provider that translates: never a 500 (`Cannot convert object to primitive
 * value`) nor a 502 that blames the provider. A request passed through to Anthropic as it came is checked there.
 */
const CONFIG = {
  providers: {
    anthropic: { type: "anthropic", apiKey: "sk-a" },
    gemini: { type: "gemini", apiKey: "g-key" },
    mock: { type: "mock" },
  },
  models: {},
};
const EVIL = { toString: 1 };

afterEach(() => {
  vi.restoreAllMocks();
});

async function setup() {
  const upstreams = installUpstreams();
  vi.spyOn(console, "log").mockImplementation(() => {});
  const g = gateway(CONFIG);
  const key = await g.createKey({ name: "validation" });
  return { g, key, upstreams };
}

/** Asserts an Anthropic-shaped 400 whose message names `param`. */
async function expectAnthropic400(res: Response, param: string) {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  const body = JSON.parse(text) as { type: string; error: { type: string; message: string } };
  expect(body.type).toBe("error");
  expect(body.error.type).toBe("invalid_request_error");
  expect(body.error.message).toContain(`${param}:`);
}

const user = (content: unknown) => ({ role: "user", content });

describe("/v1/messages refuses a wrong-typed value a translator reads", () => {
  const base = { model: "anthropic/claude-sonnet-4-5", max_tokens: 10 };
  // [what, body, the gateway's param, Anthropic's path for it (null: the gateway reads it, refused up front)]
  const cases: [string, Record<string, unknown>, string, string | null][] = [
    [
      "a system block's text",
      { system: [{ type: "text", text: EVIL }], messages: [user("hi")] },
      "system[0].text",
      "system.0.text.text",
    ],
    [
      "an assistant text block",
      {
        messages: [user("hi"), { role: "assistant", content: [{ type: "text", text: EVIL }] }, user("again")],
      },
      "messages[1].content[0].text",
      "messages.1.content.0.text.text",
    ],
    [
      "an image's media_type",
      {
        messages: [user([{ type: "image", source: { type: "base64", media_type: EVIL, data: "aGk=" } }])],
      },
      "messages[0].content[0].source.media_type",
      "messages.0.content.0.image.source.base64.media_type",
    ],
    [
      "a tool_result's text",
      {
        messages: [
          user("hi"),
          { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "f", input: {} }] },
          user([{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: EVIL }] }]),
        ],
      },
      "messages[2].content[0].content[0].text",
      "messages.2.content.0.tool_result.content.0.text.text",
    ],
    [
      "a tool_use's input",
      {
        messages: [
          user("hi"),
          { role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: "x" }] },
        ],
      },
      "messages[1].content[0].input",
      "messages.1.content.0.tool_use.input",
    ],
    [
      "a tool's input_schema",
      { messages: [user("hi")], tools: [{ name: "f", input_schema: "x" }] },
      "tools[0].input_schema",
      null,
    ],
    [
      "a tool_choice without name",
      { messages: [user("hi")], tool_choice: { type: "tool" } },
      "tool_choice.name",
      null,
    ],
  ];
  for (const [what, body, param, upstreamPath] of cases) {
    it(`${what} (${param})`, async () => {
      const { g, key, upstreams } = await setup();
      const claude = upstreams.mount("https://api.anthropic.com", new FakeAnthropic("sk-a"));
      const res = await g.fetch("/v1/messages", post({ ...base, ...body }, key));
      if (upstreamPath === null) {
        // A field the gateway reads itself (tools for routing, tool_choice): refused before anything is sent.
        await expectAnthropic400(res, param);
        expect(claude.requests).toHaveLength(0);
      } else {
        // Blocks only a translator reads: an Anthropic target gets the request as it came, and its 400 comes
        // back as Anthropic wrote it.
        await expectAnthropic400(res, upstreamPath);
        expect(claude.requests).toHaveLength(1);
      }
      // On a route to the mock (OpenAI-wire) provider, translated: the schema, not a translator, refuses it.
      await expectAnthropic400(
        await g.fetch("/v1/messages", post({ ...base, model: "mock/echo", ...body }, key)),
        param,
      );
      expect(upstreams.unmatched).toEqual([]);
    });
  }
});

describe("/v1/chat/completions refuses a wrong-typed value a translator reads", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "a text part's text",
      { messages: [user([{ type: "text", text: EVIL }])] },
      "messages[0].content[0].text",
    ],
    [
      "an image_url's url",
      { messages: [user([{ type: "image_url", image_url: { url: EVIL } }])] },
      "messages[0].content[0].image_url.url",
    ],
    [
      "an image_url part without image_url",
      { messages: [user([{ type: "image_url" }])] },
      "messages[0].content[0].image_url",
    ],
    [
      "a tool_choice function name",
      {
        messages: [user("hi")],
        tools: [{ type: "function", function: { name: "f" } }],
        tool_choice: { type: "function", function: { name: EVIL } },
      },
      "tool_choice.function.name",
    ],
    ["a tool_choice string", { messages: [user("hi")], tool_choice: "sometimes" }, "tool_choice"],
    ["stop", { messages: [user("hi")], stop: [EVIL] }, "stop[0]"],
    [
      "a tool's description",
      { messages: [user("hi")], tools: [{ type: "function", function: { name: "f", description: 7 } }] },
      "tools[0].function.description",
    ],
    [
      "a json_schema response_format",
      { messages: [user("hi")], response_format: { type: "json_schema", json_schema: { name: EVIL } } },
      "response_format.json_schema.name",
    ],
  ];
  for (const provider of ["anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"]) {
    for (const [what, body, param] of cases) {
      it(`${what} (${param}) on a route to ${provider.split("/")[0]}`, async () => {
        const { g, key, upstreams } = await setup();
        const res = await g.fetch("/v1/chat/completions", post({ model: provider, ...body }, key));
        const err = await expectError(res, 400, "invalid_request", param);
        expect(err.error.message).toContain(`${param}:`);
        expect(upstreams.unmatched).toEqual([]);
      });
    }
  }

  it("still passes content part and block types it does not know through untouched", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post(
        {
          model: "mock/echo",
          messages: [
            user([
              { type: "text", text: "hi" },
              { type: "future_part", x: {} },
            ]),
          ],
        },
        key,
      ),
    );
    expect(res.status).toBe(200);
  });
});
