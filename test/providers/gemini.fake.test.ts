import { describe, expect, it } from "vitest";
import { GEMINI_KEY, GEMINI_ORIGIN, GeminiFake } from "../helpers/gemini-upstream";

/** The fake must refuse what the real API refuses, or the gateway tests would prove nothing. */
const fake = () => new GeminiFake({ apiKey: GEMINI_KEY });
const URL_GEN = `${GEMINI_ORIGIN}/v1beta/models/gemini-2.5-flash:generateContent`;

async function call(
  body: unknown,
  headers: Record<string, string> = { "x-goog-api-key": GEMINI_KEY },
  url = URL_GEN,
) {
  const res = await fake().handle(
    new Request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
  );
  const json = (await res.json()) as { error?: { code: number; message: string; status: string } };
  return { status: res.status, json, error: json.error };
}

const user = { role: "user", parts: [{ text: "hi" }] };

describe("the strict Gemini fake", () => {
  it("answers a valid request", async () => {
    const r = await call({ contents: [user] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ candidates: [{ finishReason: "STOP" }] });
  });

  it("refuses a missing API key with 403 and a wrong one with 400 API_KEY_INVALID", async () => {
    expect((await call({ contents: [user] }, {})).error).toMatchObject({
      code: 403,
      status: "PERMISSION_DENIED",
    });
    const wrong = await call({ contents: [user] }, { "x-goog-api-key": "nope" });
    expect(wrong.error).toMatchObject({
      code: 400,
      status: "INVALID_ARGUMENT",
      message: "API key not valid. Please pass a valid API key.",
    });
    expect(JSON.stringify(wrong.json)).toContain("API_KEY_INVALID");
  });

  it("refuses unknown fields at any depth, naming them", async () => {
    expect((await call({ contents: [user], temperature: 1 })).error?.message).toBe(
      'Invalid JSON payload received. Unknown name "temperature": Cannot find field.',
    );
    expect(
      (await call({ contents: [{ role: "user", parts: [{ text: "x", type: "text" }] }] })).error?.message,
    ).toContain(`Unknown name "type" at 'contents[0].parts[0]'`);
  });

  it("refuses a system role, an unknown role, and empty contents", async () => {
    for (const role of ["system", "assistant", "function"]) {
      expect((await call({ contents: [{ role, parts: [{ text: "x" }] }] })).error?.message).toBe(
        "Please use a valid role: user, model.",
      );
    }
    expect((await call({ contents: [] })).error?.message).toContain("contents is not specified");
  });

  it("refuses a functionResponse without a name, or one that does not follow a function call", async () => {
    const called = { role: "model", parts: [{ functionCall: { name: "f", args: {} } }] };
    const nameless = { role: "user", parts: [{ functionResponse: { response: { output: "1" } } }] };
    expect((await call({ contents: [user, called, nameless] })).error?.message).toContain(
      "Name cannot be empty",
    );
    const orphan = { role: "user", parts: [{ functionResponse: { name: "f", response: {} } }] };
    expect((await call({ contents: [user, orphan] })).error?.message).toContain(
      "comes immediately after a function call turn",
    );
  });

  it("refuses JSON Schema keywords outside Gemini's Schema, and empty OBJECT properties", async () => {
    const tools = (parameters: unknown) => [{ functionDeclarations: [{ name: "f", parameters }] }];
    const extra = await call({
      contents: [user],
      tools: tools({ type: "object", properties: { a: { type: "string" } }, additionalProperties: false }),
    });
    expect(extra.error?.message).toContain(
      `Unknown name "additionalProperties" at 'tools[0].function_declarations[0].parameters'`,
    );
    const empty = await call({ contents: [user], tools: tools({ type: "OBJECT", properties: {} }) });
    expect(empty.error?.message).toContain("should be non-empty for OBJECT type");
  });

  it("refuses a Gemini 3 function call without a thought signature", async () => {
    const called = { role: "model", parts: [{ functionCall: { name: "f", args: {} } }] };
    const r = await call(
      {
        contents: [
          user,
          called,
          { role: "user", parts: [{ functionResponse: { name: "f", response: {} } }] },
        ],
      },
      undefined,
      `${GEMINI_ORIGIN}/v1beta/models/gemini-3-pro-preview:generateContent`,
    );
    expect(r.error?.message).toContain("missing a thought_signature");
  });
});
