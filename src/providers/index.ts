import type { Target } from "../config/resolve";
import type { ProviderConfig } from "../config/schema";
import { anthropicAdapter } from "./anthropic";
import { bedrockAdapter } from "./bedrock";
import { geminiAdapter } from "./gemini";
import { mockFetch } from "./mock";
import { bearer, openAIWire, v1Url } from "./openai";
import { PRESETS } from "./presets";
import type { ProviderAdapter } from "./types";
import { vertexAdapter } from "./vertex";
import { workersAiAdapter } from "./workers-ai";

const adapters = new WeakMap<ProviderConfig, ProviderAdapter>();

/** The adapter for a configured provider, built once per resolved config. */
export function adapterFor(p: ProviderConfig): ProviderAdapter {
  let a = adapters.get(p);
  if (!a) {
    a = build(p);
    adapters.set(p, a);
  }
  return a;
}

function build(p: ProviderConfig): ProviderAdapter {
  const extra = p.headers ?? {};
  switch (p.type) {
    case "openai": {
      const base = (p.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "");
      const org: Record<string, string> = p.organization ? { "openai-organization": p.organization } : {};
      return openAIWire({
        url: v1Url(base),
        headers: () => ({ ...bearer(p.apiKey), ...org, ...extra }),
        streamUsage: "include_usage",
        responses: p.responsesApi ? { url: () => `${base}/responses`, model: (t) => t.model } : undefined,
      });
    }
    case "azure-openai": {
      const base = p.baseUrl.replace(/\/+$/, "");
      const path = { chat: "chat/completions", embeddings: "embeddings" } as const;
      const deployment = (t: Target) => p.deployments?.[t.model] ?? t.model;
      return openAIWire({
        url: (op, t) =>
          `${base}/openai/deployments/${encodeURIComponent(deployment(t))}/${path[op]}?api-version=${encodeURIComponent(p.apiVersion)}`,
        headers: () => ({ ...(p.apiKey ? { "api-key": p.apiKey } : {}), ...extra }),
        streamUsage: "include_usage",
        // Azure serves the Responses API on its v1 surface only: no deployment in the URL, no api-version.
        responses: p.responsesApi
          ? { url: () => `${base}/openai/v1/responses`, model: deployment }
          : undefined,
      });
    }
    case "openai-compatible": {
      const preset = p.preset ? PRESETS[p.preset] : undefined;
      const base = (p.baseUrl ?? (preset as { baseUrl: string }).baseUrl).replace(/\/+$/, "");
      return openAIWire({
        url: v1Url(base),
        headers: () => ({ ...bearer(p.apiKey), ...extra }),
        streamUsage: preset?.streamUsage ?? "include_usage",
        responses: p.responsesApi ? { url: () => `${base}/responses`, model: (t) => t.model } : undefined,
      });
    }
    case "anthropic":
      return anthropicAdapter(p);
    case "gemini":
      return geminiAdapter(p);
    case "bedrock":
      return bedrockAdapter(p);
    case "vertex":
      return vertexAdapter(p);
    case "workers-ai":
      return workersAiAdapter(p);
    case "mock":
      return openAIWire({
        url: v1Url("http://mock.sluice.invalid/v1"),
        headers: () => ({}),
        streamUsage: "include_usage",
        fetch: mockFetch(p),
      });
  }
}
