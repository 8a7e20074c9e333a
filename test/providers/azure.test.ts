import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { gateway, post } from "../helpers/gateway";
import { openaiFor } from "../helpers/sdk";
import { chunksOf, type FakeUpstream, installUpstreams, readSse } from "../helpers/upstream";

const RESOURCE = "https://my-res.openai.azure.com";
const hi = [{ role: "user", content: "hi" }];

function config(extra: Record<string, unknown> = {}) {
  return {
    providers: {
      azure: {
        type: "azure-openai",
        baseUrl: `${RESOURCE}/`,
        apiKey: "env:AZURE_OPENAI_KEY",
        deployments: { "gpt-4o": "gpt4o-prod", "text-embedding-3-large": "embed-prod" },
        ...extra,
      },
    },
    models: {
      smart: { targets: [{ provider: "azure", model: "gpt-4o" }] },
      vectors: { targets: [{ provider: "azure", model: "text-embedding-3-large" }] },
    },
  };
}

let azure: FakeUpstream;
beforeEach(() => {
  azure = installUpstreams().azure(RESOURCE, {
    apiKey: "azure-key-123",
    deployments: {
      "gpt4o-prod": "gpt-4o-2024-11-20",
      "embed-prod": "text-embedding-3-large",
      "raw-name": "gpt-4o-mini",
    },
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(extra: Record<string, unknown> = {}, vars = { AZURE_OPENAI_KEY: "azure-key-123" }) {
  const g = gateway(config(extra), vars);
  return { g, key: await g.createKey() };
}

describe("Azure OpenAI provider", () => {
  it("posts to the mapped deployment's URL with the default api-version and the api-key header", async () => {
    const { g, key } = await setup();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "smart", messages: hi, top_p: 0.5 }, key),
    );
    expect(res.status).toBe(200);
    const sent = azure.requests[0];
    expect(`${sent?.url.origin}${sent?.url.pathname}`).toBe(
      `${RESOURCE}/openai/deployments/gpt4o-prod/chat/completions`,
    );
    expect(sent?.url.searchParams.get("api-version")).toBe("2024-10-21");
    expect(sent?.headers["api-key"]).toBe("azure-key-123");
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.body).toMatchObject({ messages: hi, top_p: 0.5 });
    const body = (await res.json()) as { model: string; prompt_filter_results: unknown };
    // The deployment answered: Azure's own fields pass through untouched.
    expect(body.model).toBe("gpt-4o-2024-11-20");
    expect(body.prompt_filter_results).toBeDefined();
    expect(res.headers.get("x-sluice-provider")).toBe("azure");
  });

  it("uses the configured apiVersion", async () => {
    const { g, key } = await setup({ apiVersion: "2025-01-01-preview" });
    await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, key));
    expect(azure.requests[0]?.url.searchParams.get("api-version")).toBe("2025-01-01-preview");
  });

  it("uses a model without a deployments entry as the deployment name", async () => {
    const { g, key } = await setup();
    const res = await g.fetch("/v1/chat/completions", post({ model: "azure/raw-name", messages: hi }, key));
    expect(res.status).toBe(200);
    expect(azure.requests[0]?.url.pathname).toBe("/openai/deployments/raw-name/chat/completions");
  });

  it("surfaces Azure's DeploymentNotFound for a deployment that does not exist", async () => {
    const { g, key } = await setup();
    const res = await g.fetch("/v1/chat/completions", post({ model: "azure/nope", messages: hi }, key));
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(404);
    expect(body.error.code).toBe("DeploymentNotFound");
    expect(body.error.message).toContain("deployment for this resource does not exist");
  });

  it("surfaces Azure's refusal of a wrong api-key as a 502 that keeps Azure's message", async () => {
    const { g, key } = await setup({}, { AZURE_OPENAI_KEY: "wrong" });
    const res = await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, key));
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(res.status).toBe(502);
    expect(body.error.code).toBe("upstream_auth_failed");
    expect(body.error.message).toContain("Access denied due to invalid subscription key");
  });

  it("posts embeddings to the deployment's /embeddings URL", async () => {
    const { g, key } = await setup();
    const res = await g.fetch("/v1/embeddings", post({ model: "vectors", input: "hello" }, key));
    expect(res.status).toBe(200);
    const sent = azure.requests[0];
    expect(sent?.url.pathname).toBe("/openai/deployments/embed-prod/embeddings");
    expect(sent?.url.searchParams.get("api-version")).toBe("2024-10-21");
    expect(sent?.headers["api-key"]).toBe("azure-key-123");
    expect(sent?.body.input).toBe("hello");
    const body = (await res.json()) as { data: { embedding: number[] }[]; model: string };
    expect(body.data).toHaveLength(1);
    expect(body.model).toBe("text-embedding-3-large");
  });

  it("streams through Azure's leading prompt-filter event and holds back the usage chunk nobody asked for", async () => {
    const { g, key } = await setup();
    azure.reply({ content: "a b", usage: { prompt_tokens: 3, completion_tokens: 2 } });
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "smart", messages: hi, stream: true }, key),
    );
    expect(azure.requests[0]?.body.stream_options).toEqual({ include_usage: true });
    const chunks = chunksOf(await readSse(res));
    expect(chunks[0]).toMatchObject({ choices: [], prompt_filter_results: expect.any(Array) });
    expect(chunks.some((c) => c.usage !== undefined && c.usage !== null)).toBe(false);
    const sdkText = await openaiFor(g, key)
      .chat.completions.create({ model: "smart", messages: [{ role: "user", content: "x" }], stream: true })
      .then(async (s) => {
        let t = "";
        for await (const c of s) t += c.choices[0]?.delta.content ?? "";
        return t;
      });
    expect(sdkText).toBe("a b");
  });
});
