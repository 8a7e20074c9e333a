import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { gateway, post } from "../helpers/gateway";
import { GEMINI_KEY, GEMINI_ORIGIN, GeminiFake } from "../helpers/gemini-upstream";
import { installUpstreams } from "../helpers/upstream";

/**
 * Generated bad bodies, a bounded number per endpoint and route (seeded, so a failure replays): valid requests
 * with one to three values replaced by values of other types, fields removed or added, and raw garbage. Whatever
 * comes in, the answer is never a 5xx, always JSON or SSE, and an error has its surface's shape (Anthropic's
 * under /v1/messages, OpenAI's elsewhere). Upstreams are the strict fakes, so a translation they refuse is a 4xx.
 */
const PER_ROUTE = 120;
const CONFIG = {
  providers: {
    mock: { type: "mock" },
    anthropic: { type: "anthropic", apiKey: "sk-ant-test", baseUrl: "https://api.anthropic.com" },
    gemini: { type: "gemini", apiKey: GEMINI_KEY },
  },
  models: {},
};

type Json = Record<string, unknown>;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVIL: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  "",
  "x".repeat(5000),
  "\u0000\ud800<script>",
  [],
  [null],
  [{}],
  {},
  { toString: 1 },
  { valueOf: {} },
  { __proto__: { polluted: true } },
  { type: "text", text: { toString: 1 } },
  { type: "image_url", image_url: { url: 1 } },
  { type: "unknown_part" },
  [[[[[[[[[[[]]]]]]]]]]],
];

const BASES: Record<string, (model: string) => Json> = {
  chat: (model) => ({
    model,
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "What is in this image?" }] },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "look", arguments: '{"q":"x"}' } }],
      },
      { role: "tool", tool_call_id: "c1", content: "a cat" },
      { role: "user", content: "thanks" },
    ],
    tools: [
      { type: "function", function: { name: "look", description: "Looks", parameters: { type: "object" } } },
    ],
    tool_choice: "auto",
    max_tokens: 20,
    temperature: 0.5,
    stop: ["\n\n"],
    stream: false,
  }),
  embeddings: (model) => ({ model, input: ["hello", "world"], encoding_format: "float" }),
  messages: (model) => ({
    model,
    max_tokens: 20,
    system: [{ type: "text", text: "Be brief." }],
    messages: [
      { role: "user", content: [{ type: "text", text: "Look" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "look", input: { q: "x" } }] },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "cat" }] }],
      },
    ],
    tools: [{ name: "look", description: "Looks", input_schema: { type: "object" } }],
    tool_choice: { type: "auto" },
    stream: false,
  }),
};

/** Every path to a value inside `v` (object keys and array indexes), the root excluded. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== "object" || v === null) return [];
  const out: (string | number)[][] = [];
  for (const [k, child] of Object.entries(v)) {
    const p = [...prefix, Array.isArray(v) && /^\d+$/.test(k) ? Number(k) : k];
    out.push(p, ...paths(child, p));
  }
  return out;
}

function mutate(body: Json, rand: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const roll = rand();
  if (roll < 0.05) return pick(["", "{", "[]", "null", "42", '"text"', "{".repeat(2000)]); // raw text
  const copy = structuredClone(body);
  const n = rand() < 0.6 ? 1 : 2 + Math.floor(rand() * 2);
  for (let i = 0; i < n; i++) {
    const all = paths(copy);
    const path = pick(all);
    let parent: Json = copy;
    for (const step of path.slice(0, -1)) parent = parent[step as string] as Json;
    const last = path[path.length - 1] as string;
    const what = rand();
    if (what < 0.7) parent[last] = structuredClone(pick(EVIL));
    else if (what < 0.85) delete parent[last];
    else parent[`extra_${Math.floor(rand() * 100)}`] = structuredClone(pick(EVIL));
  }
  if (rand() < 0.2) copy.stream = true;
  return copy;
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Checks one answer; returns a description of what is wrong with it, or null. */
async function problem(res: Response, anthropic: boolean): Promise<string | null> {
  const type = res.headers.get("content-type") ?? "";
  const text = await res.text();
  if (res.status >= 500) return `status ${res.status}: ${text.slice(0, 200)}`;
  if (res.ok) return /^(application\/json|text\/event-stream)/.test(type) ? null : `200 with ${type}`;
  if (!type.startsWith("application/json")) return `error as ${type}`;
  const body = JSON.parse(text) as Json;
  const err = body.error as Json | undefined;
  if (anthropic) {
    if (body.type !== "error" || typeof err?.type !== "string" || typeof err.message !== "string")
      return `not Anthropic-shaped: ${text.slice(0, 200)}`;
  } else if (
    Object.keys(body).join() !== "error" ||
    typeof err?.message !== "string" ||
    typeof err.code !== "string" ||
    typeof err.type !== "string"
  ) {
    return `not OpenAI-shaped: ${text.slice(0, 200)}`;
  }
  return null;
}

describe("Generated bad bodies", () => {
  const routes: [string, string, string][] = [
    ["/v1/chat/completions", "chat", "mock/echo"],
    ["/v1/chat/completions", "chat", "anthropic/claude-sonnet-4-5"],
    ["/v1/chat/completions", "chat", "gemini/gemini-2.5-flash"],
    ["/v1/embeddings", "embeddings", "mock/embed"],
    ["/v1/messages", "messages", "mock/echo"],
    ["/v1/messages", "messages", "anthropic/claude-sonnet-4-5"],
  ];
  for (const [path, kind, model] of routes) {
    it(`to ${path} for ${model} never get a 5xx, non-JSON or the wrong error shape`, async () => {
      const upstreams = installUpstreams();
      upstreams.mount("https://api.anthropic.com", new FakeAnthropic("sk-ant-test"));
      upstreams.mount(GEMINI_ORIGIN, new GeminiFake({ apiKey: GEMINI_KEY }));
      vi.spyOn(console, "log").mockImplementation(() => {});
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      const g = gateway(CONFIG);
      const key = await g.createKey({ name: "fuzz" });
      const rand = prng([...`${path}${model}`].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7));
      const base = (BASES[kind] as (m: string) => Json)(model);
      const found: string[] = [];
      const statuses = new Set<number>();
      for (let i = 0; i < PER_ROUTE; i++) {
        const body = mutate(base, rand);
        const res = await g.fetch(path, post(typeof body === "string" ? body : JSON.stringify(body), key));
        statuses.add(res.status);
        const p = await problem(res, path === "/v1/messages");
        if (p) found.push(`#${i} ${JSON.stringify(body).slice(0, 300)} → ${p}`);
      }
      await g.settle();
      expect(found).toEqual([]);
      // The generator reaches both sides: some bodies are refused, some still answered.
      expect([...statuses].some((s) => s >= 400)).toBe(true);
      expect(upstreams.unmatched).toEqual([]);
      // No translator met a value the schemas let through.
      expect(
        errors.mock.calls.map((c) => String(c[0])).filter((m) => m.includes("translate_failed")),
      ).toEqual([]);
    });
  }
});
