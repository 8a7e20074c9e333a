import { describe, expect, it } from "vitest";
import { fromMessagesRequest, messagesRequestSchema } from "../../src/formats/anthropic";

/** The canonical request (and dropped list) for an Anthropic request: a short user turn plus `extra`. */
function translate(extra: Record<string, unknown>) {
  return fromMessagesRequest(
    messagesRequestSchema.parse({
      model: "m",
      max_tokens: 64000,
      messages: [{ role: "user", content: "hi" }],
      ...extra,
    }),
  );
}

const ephemeral = { type: "ephemeral" };
const IMAGE = { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" };

describe("thinking and output_config.effort become reasoning_effort", () => {
  const cases: [string, Record<string, unknown>, string | undefined, string[]][] = [
    ["a small thinking budget", { thinking: { type: "enabled", budget_tokens: 1024 } }, "low", []],
    ["a middling thinking budget", { thinking: { type: "enabled", budget_tokens: 4096 } }, "medium", []],
    ["a large thinking budget", { thinking: { type: "enabled", budget_tokens: 31999 } }, "high", []],
    ["adaptive thinking alone (the target's default)", { thinking: { type: "adaptive" } }, undefined, []],
    [
      "adaptive thinking with an effort",
      { thinking: { type: "adaptive" }, output_config: { effort: "max" } },
      "max",
      [],
    ],
    [
      "an effort over a budget",
      { thinking: { type: "enabled", budget_tokens: 2048 }, output_config: { effort: "xhigh" } },
      "xhigh",
      [],
    ],
    [
      "disabled thinking, even with an effort",
      { thinking: { type: "disabled" }, output_config: { effort: "low" } },
      undefined,
      ["output_config.effort"],
    ],
    ["an unknown thinking type", { thinking: { type: "turbo" } }, undefined, ["thinking"]],
    ["an unknown effort", { output_config: { effort: "ultra" } }, undefined, ["output_config.effort"]],
  ];
  for (const [name, extra, effort, dropped] of cases) {
    it(`maps ${name} to ${effort ?? "no reasoning_effort"}`, () => {
      const t = translate(extra);
      expect(t.body.reasoning_effort).toBe(effort);
      expect(t.dropped).toEqual(dropped);
    });
  }
});

describe("output_config.format becomes response_format", () => {
  const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"] };

  it("turns a json_schema format into a strict json_schema response format named 'response'", () => {
    const t = translate({ output_config: { format: { type: "json_schema", schema } } });
    expect(t.body.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "response", schema, strict: true },
    });
    expect(t.dropped).toEqual([]);
  });

  it("lists a format it cannot carry and other output_config fields", () => {
    const t = translate({
      output_config: { format: { type: "xml" }, task_budget: { type: "tokens", total: 1000 } },
    });
    expect(t.body).not.toHaveProperty("response_format");
    expect(t.dropped).toEqual(["output_config.task_budget", "output_config.format"]);
  });
});

describe("cache_control markers ride on the canonical parts, tool messages and tools", () => {
  it("carries them where the canonical form has a place, and names the ones it has not", () => {
    const t = translate({
      system: [
        { type: "text", text: "A" },
        { type: "text", text: "B", cache_control: { type: "ephemeral", ttl: "1h" } },
      ],
      tools: [{ name: "Read", input_schema: { type: "object" }, cache_control: ephemeral }],
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: IMAGE, cache_control: ephemeral },
            { type: "text", text: "Read it", cache_control: ephemeral },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Reading.", cache_control: ephemeral },
            { type: "tool_use", id: "t1", name: "Read", input: {} },
          ],
        },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "t1", content: "done", cache_control: ephemeral }],
        },
      ],
    });
    expect(t.body.messages).toEqual([
      {
        role: "system",
        content: [
          { type: "text", text: "A" },
          { type: "text", text: "B", cache_control: { type: "ephemeral", ttl: "1h" } },
        ],
      },
      {
        role: "user",
        content: [
          {
            type: "image_url",
            image_url: { url: `data:image/png;base64,${IMAGE.data}` },
            cache_control: ephemeral,
          },
          { type: "text", text: "Read it", cache_control: ephemeral },
        ],
      },
      {
        role: "assistant",
        content: "Reading.",
        tool_calls: [{ id: "t1", type: "function", function: { name: "Read", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "t1", content: "done", cache_control: ephemeral },
    ]);
    expect(t.body.tools).toEqual([
      {
        type: "function",
        function: { name: "Read", parameters: { type: "object" } },
        cache_control: ephemeral,
      },
    ]);
    // Assistant content is plain text in the canonical form: its block's marker has no place.
    expect(t.dropped).toEqual(["messages[1].content[0].cache_control"]);
  });
});

describe("what the canonical form cannot carry is named as a path in the client's request", () => {
  it("names fields, blocks, block fields, tool result content, tools and tool fields", () => {
    const t = translate({
      service_tier: "auto",
      metadata: { user_id: "u1", trace: "x" },
      tools: [
        { type: "web_search_20250305", name: "web_search" },
        { name: "Read", input_schema: { type: "object" }, defer_loading: true },
      ],
      messages: [
        { role: "user", content: "Read a.txt" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "…", signature: "sig" },
            { type: "tool_use", id: "t1", name: "Read", input: { path: "a.txt" } },
          ],
        },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "t1",
              is_error: true,
              content: [
                { type: "text", text: "no such file" },
                { type: "image", source: IMAGE },
              ],
            },
          ],
        },
      ],
    });
    expect(t.dropped).toEqual([
      "service_tier",
      "messages[1].content[0]",
      "messages[2].content[0].is_error",
      "messages[2].content[0].content[1]",
      "metadata.trace",
      "tools[0]",
      "tools[1].defer_loading",
    ]);
    expect(t.body.user).toBe("u1");
    expect(t.body.messages).toContainEqual({ role: "tool", tool_call_id: "t1", content: "no such file" });
  });
});
