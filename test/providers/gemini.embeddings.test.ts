import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectError } from "../helpers/errors";
import { gateway, post } from "../helpers/gateway";
import { GEMINI_KEY, GEMINI_ORIGIN, GeminiFake, geminiConfig } from "../helpers/gemini-upstream";
import { openaiFor } from "../helpers/sdk";
import { installUpstreams } from "../helpers/upstream";

let gemini: GeminiFake;
beforeEach(() => {
  gemini = installUpstreams().mount(GEMINI_ORIGIN, new GeminiFake({ apiKey: GEMINI_KEY }));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup() {
  const g = gateway(geminiConfig(), { GEMINI_API_KEY: GEMINI_KEY });
  return { g, key: await g.createKey() };
}

describe("gemini embeddings", () => {
  it("embeds one input through embedContent, with dimensions as outputDimensionality", async () => {
    const { g, key } = await setup();
    const res = await g.fetch("/v1/embeddings", post({ model: "embed", input: "hello", dimensions: 3 }, key));
    expect(res.status).toBe(200);
    expect(gemini.requests[0]?.url.pathname).toBe("/v1beta/models/gemini-embedding-001:embedContent");
    expect(gemini.requests[0]?.body).toEqual({
      content: { parts: [{ text: "hello" }] },
      outputDimensionality: 3,
    });
    expect(await res.json()).toEqual({
      object: "list",
      data: [{ object: "embedding", index: 0, embedding: [0.01, 0.02, 0.03] }],
      model: "gemini-embedding-001",
      usage: { prompt_tokens: 2, total_tokens: 2 },
    });
  });

  it("embeds several inputs through batchEmbedContents, in order", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/embeddings",
      post({ model: "embed", input: ["a", "b"], dimensions: 2 }, key),
    );
    expect(gemini.requests[0]?.url.pathname).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(gemini.requests[0]?.body).toEqual({
      requests: [
        {
          model: "models/gemini-embedding-001",
          content: { parts: [{ text: "a" }] },
          outputDimensionality: 2,
        },
        {
          model: "models/gemini-embedding-001",
          content: { parts: [{ text: "b" }] },
          outputDimensionality: 2,
        },
      ],
    });
    const body = (await res.json()) as { data: { index: number; embedding: number[] }[] };
    expect(body.data).toEqual([
      { object: "embedding", index: 0, embedding: [0.01, 0.02] },
      { object: "embedding", index: 1, embedding: [0.02, 0.04] },
    ]);
  });

  it("answers base64 when asked, which the openai SDK asks for by default and decodes to the same floats", async () => {
    const { g, key } = await setup();
    const out = await openaiFor(g, key).embeddings.create({
      model: "embed",
      input: ["a", "b"],
      dimensions: 4,
    });
    expect(gemini.requests[0]?.url.pathname).toMatch(/:batchEmbedContents$/);
    const raw = await g.fetch(
      "/v1/embeddings",
      post({ model: "embed", input: "a", encoding_format: "base64", dimensions: 2 }, key),
    );
    const b64 = ((await raw.json()) as { data: { embedding: unknown }[] }).data[0]?.embedding;
    expect(typeof b64).toBe("string");
    expect(
      Array.from(new Float32Array(Uint8Array.from(atob(String(b64)), (c) => c.charCodeAt(0)).buffer)),
    ).toEqual([Math.fround(0.01), Math.fround(0.02)]);
    expect(out.data.map((d) => d.embedding.map((v) => Number(v.toFixed(4))))).toEqual([
      [0.01, 0.02, 0.03, 0.04],
      [0.02, 0.04, 0.06, 0.08],
    ]);
  });

  it("refuses token-array input with 400 unsupported_parameter, before calling Gemini", async () => {
    const { g, key } = await setup();
    const res = await g.fetch("/v1/embeddings", post({ model: "embed", input: [1, 2, 3] }, key));
    await expectError(res, 400, "unsupported_parameter", "input");
    expect(gemini.requests).toHaveLength(0);
  });
});
