// The bench's Workers: Sluice's production bundle served like `npm run serve` (fresh local D1 under `persist`)
// and the plain Workers beside it (the floor, the metering Worker, skeletons), and the requests the bench
// scripts send them.
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ROOT, serveWorker, startGateway, wranglerWorkerOptions } from "../scripts/serve-lib.mjs";

/**
 * A plain Worker script (the floor, bench/passthrough.js, unless `script` names another) served with
 * wrangler.toml's compatibility settings and the binding UPSTREAM_URL = `upstreamUrl`, plus any other Worker
 * options in `options` (storage bindings) and local state under `persist`. Resolves like serveWorker.
 */
export function startPlainWorker(
  upstreamUrl,
  { script = path.join(ROOT, "bench/passthrough.js"), persist, options } = {},
) {
  const { compatibilityDate, compatibilityFlags } = wranglerWorkerOptions();
  return serveWorker({
    script,
    persist,
    workerOptions: {
      compatibilityDate,
      compatibilityFlags,
      bindings: { UPSTREAM_URL: upstreamUrl },
      ...options,
    },
    quiet: true,
  });
}

/**
 * The metering Worker (bench/metering.js: the least a gateway that meters calls does) with its ledger's
 * bindings, a SQLite Durable Object and a local D1, under `persist`. Resolves like serveWorker.
 */
export function startMeteringWorker(upstreamUrl, persist) {
  return startPlainWorker(upstreamUrl, {
    script: path.join(ROOT, "bench/metering.js"),
    persist,
    options: {
      d1Databases: { DB: "bench-metering" },
      durableObjects: { LEDGER: { className: "Ledger", useSQLite: true } },
    },
  });
}

/** Gateway config with the upstream at `url` as an OpenAI-compatible provider `up` and an Anthropic one `anth`, their models priced. */
export const singleUpstream = (url) => ({
  providers: {
    up: { type: "openai-compatible", baseUrl: url, apiKey: "bench" },
    anth: { type: "anthropic", baseUrl: url, apiKey: "bench" },
  },
  pricing: { "bench-model": { input: 1, output: 2 }, "claude-bench": { input: 3, output: 15 } },
});

/** The bench's chat request body: plain, or streaming with a usage chunk. */
export function chatBody({ stream = false } = {}) {
  return JSON.stringify({
    model: "up/bench-model",
    messages: [{ role: "user", content: "Say hello." }],
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/**
 * An Anthropic Messages request of a coding agent's size (`bytes` of JSON, ~200 KB by default): a cached
 * system prompt, 20 tools, and turns of text, tool calls and tool results. The same text every time.
 */
export function agentBody({ model = "anth/claude-bench", bytes = 200_000 } = {}) {
  const para =
    "The quick brown fox jumps over the lazy dog while the gateway forwards every byte it was given. ";
  const tools = Array.from({ length: 20 }, (_, i) => ({
    name: `tool_${i}`,
    description: para.repeat(3),
    input_schema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
  }));
  const messages = [];
  for (let size = 0, turn = 0; size < bytes; turn++) {
    const id = `toolu_${String(turn).padStart(4, "0")}`;
    const exchange = [
      { role: "user", content: [{ type: "text", text: para.repeat(10) }] },
      {
        role: "assistant",
        content: [{ type: "tool_use", id, name: "tool_1", input: { path: `/src/${turn}.ts` } }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: para.repeat(5) }] },
    ];
    messages.push(...exchange);
    size += JSON.stringify(exchange).length;
  }
  messages.push({ role: "user", content: [{ type: "text", text: "Go on." }] });
  return JSON.stringify({
    model,
    max_tokens: 1024,
    system: [{ type: "text", text: para.repeat(30), cache_control: { type: "ephemeral" } }],
    tools,
    messages,
    metadata: { user_id: "bench" },
  });
}

/**
 * Serves Sluice's bundle `script` with `config` and a random admin token. Resolves like `startGateway`, plus
 * `createKey(settings)`: a key made through the admin API, its secret.
 */
export async function startBenchGateway({ script, persist, config, inspectorPort, toml }) {
  const adminToken = randomBytes(24).toString("hex");
  const gateway = await startGateway({
    port: 0,
    persist,
    script,
    vars: { ADMIN_TOKEN: adminToken, GATEWAY_CONFIG: JSON.stringify(config) },
    quiet: true,
    inspectorPort,
    toml,
  });
  const createKey = async (settings = {}) => {
    const created = await fetch(`${gateway.url}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "bench", ...settings }),
    });
    if (created.status !== 201)
      throw new Error(`creating a key failed: ${created.status} ${await created.text()}`);
    return (await created.json()).key;
  };
  return { ...gateway, createKey };
}
