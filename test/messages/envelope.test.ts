import { describe, expect, it } from "vitest";
import { messagesEnvelopeSchema, messagesRequestSchema } from "../../src/formats/anthropic";
import { parseBody } from "../../src/http/validate";

/** The 400 a schema gives `body`, as the client reads it (message and param). */
function refusal(schema: typeof messagesRequestSchema | typeof messagesEnvelopeSchema, body: unknown) {
  try {
    parseBody(schema, body);
    return null;
  } catch (e) {
    const { message, param } = e as { message: string; param: string | null };
    return { message, param };
  }
}

const base = { model: "claude-sonnet-4-5", max_tokens: 10 };

describe("the messages envelope (what the gateway reads before a passthrough)", () => {
  it("refuses what the request schema refuses outside the blocks, in the same words", () => {
    const bodies: unknown[] = [
      { ...base },
      { ...base, messages: [] },
      { ...base, messages: "hi" },
      { ...base, messages: [null] },
      { ...base, messages: [{ role: "tool", content: "hi" }] },
      { ...base, messages: [{ role: "user" }] },
      { ...base, messages: [{ role: "user", content: 3 }] },
      { ...base, messages: [{ role: "user", content: "a" }, { content: "b" }] },
      { ...base, model: "", messages: [{ role: "user", content: "hi" }] },
      { ...base, max_tokens: 0, messages: [{ role: "user", content: "hi" }] },
      { ...base, system: 5, messages: [{ role: "user", content: "hi" }] },
      { ...base, stream: "yes", messages: [{ role: "user", content: "hi" }] },
      { ...base, tools: [{ name: "" }], messages: [{ role: "user", content: "hi" }] },
    ];
    for (const body of bodies) {
      const full = refusal(messagesRequestSchema, body);
      expect(full, JSON.stringify(body)).not.toBeNull();
      expect(refusal(messagesEnvelopeSchema, body), JSON.stringify(body)).toEqual(full);
    }
  });

  it("takes blocks it does not read, and hands the messages on as they came", () => {
    const messages = [
      {
        role: "user",
        content: [{ type: "text", text: { not: "a string" } }, null, { type: "future_block" }],
      },
    ];
    const system = [{ type: "text", text: 1 }];
    expect(refusal(messagesRequestSchema, { ...base, messages, system })).not.toBeNull();
    const read = parseBody(messagesEnvelopeSchema, { ...base, messages, system });
    expect(read.messages).toBe(messages);
    expect(read.system).toEqual(system);
  });
});
