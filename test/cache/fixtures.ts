import { vi } from "vitest";
import { ADMIN_TOKEN, type Gateway, gateway, post } from "../helpers/gateway";
import { installUpstreams } from "../helpers/upstream";

/** A gateway whose aliases cache (exact tier), over a strict fake OpenAI upstream. */
export function cachingGateway(
  cache: Record<string, unknown> = {},
  extraModels: Record<string, unknown> = {},
  settings: Record<string, unknown> = {},
) {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const openai = installUpstreams().add("https://api.openai.com", { apiKey: "sk-o" });
  openai.reply((body) => ({
    content: `Answer to: ${lastText(body)}`,
    usage: { prompt_tokens: 10, completion_tokens: 5 },
  }));
  const target = [{ provider: "openai", model: "gpt-4o-mini" }];
  const g = gateway({
    // Chat completions behind every format (/v1/responses translated too, not passed through).
    providers: { openai: { type: "openai", apiKey: "sk-o", responsesApi: false } },
    models: {
      faq: { targets: target, cache: { mode: "exact", ...cache } },
      "team-faq": { targets: target, cache: { mode: "exact", scope: "team" } },
      plain: { targets: target },
      ...extraModels,
    },
    pricing: { "gpt-4o-mini": { input: 1, output: 2 } },
    cache: settings,
  });
  return { g, openai };
}

type Json = Record<string, unknown>;

function lastText(body: Json): string {
  const messages = (body.messages as Json[] | undefined) ?? [];
  const c = messages[messages.length - 1]?.content;
  if (typeof c === "string") return c;
  return Array.isArray(c) ? (c as Json[]).map((p) => p.text).join("") : "";
}

export const ask = (question: string, extra: Json = {}) => ({
  model: "faq",
  messages: [{ role: "user", content: question }],
  max_tokens: 50,
  ...extra,
});

/** POSTs a chat call and returns the response with its body read. */
export async function chat(g: Gateway, key: string, body: Json, headers: Record<string, string> = {}) {
  const res = await g.fetch("/v1/chat/completions", post(body, key, headers));
  const text = await res.text();
  await g.settle();
  return { res, text, json: () => JSON.parse(text) as Json };
}

export async function admin(g: Gateway, method: string, path: string) {
  const res = await g.fetch(path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return { status: res.status, body: (await res.json()) as Json };
}

/** A unique question per test (storage is shared across test files). */
export const unique = (what: string) => `${what} #${crypto.randomUUID().slice(0, 8)}`;

/** Creates a key and returns its secret and id. */
export async function keyWithId(g: Gateway, body: Record<string, unknown> = { name: "cache" }) {
  const res = await g.fetch("/admin/keys", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`creating a key: ${res.status}`);
  return (await res.json()) as { key: string; id: string };
}
