// The bench's Sluice: the production bundle served like `npm run serve` (fresh local D1 under `persist`), and
// the chat request every bench script sends it.
import { randomBytes } from "node:crypto";
import { startGateway } from "../scripts/serve-lib.mjs";

/** Gateway config with one OpenAI-compatible provider `up` at `url`, its model priced. */
export const singleUpstream = (url) => ({
  providers: { up: { type: "openai-compatible", baseUrl: url, apiKey: "bench" } },
  pricing: { "bench-model": { input: 1, output: 2 } },
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
 * Serves Sluice's bundle `script` with `config` and a random admin token. Resolves like `startGateway`, plus
 * `createKey(settings)`: a key made through the admin API, its secret.
 */
export async function startBenchGateway({ script, persist, config, inspectorPort }) {
  const adminToken = randomBytes(24).toString("hex");
  const gateway = await startGateway({
    port: 0,
    persist,
    script,
    vars: { ADMIN_TOKEN: adminToken, GATEWAY_CONFIG: JSON.stringify(config) },
    quiet: true,
    inspectorPort,
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
