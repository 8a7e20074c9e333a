import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import defaultConfig from "../../src/config/default.json";
import worker from "../../src/index";

export const ADMIN_TOKEN = env.ADMIN_TOKEN;
export const BASE = "http://sluice.test";

/** Gateway config for a test; omitted, the repo default (mock providers) applies. */
export type TestConfig = Record<string, unknown> | undefined;

export interface Gateway {
  /** Calls the Worker's fetch with this gateway's config. `wait()` drains its waitUntil work. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Waits for every `waitUntil` of the calls made so far. */
  settle(): Promise<void>;
  /** Creates a Sluice key through the admin API and returns its secret. */
  createKey(body?: Record<string, unknown>): Promise<string>;
  /** The Worker's fetch as a client library's `fetch` (what the SDK helpers in sdk.ts hand to the SDKs). */
  call(input: string | URL | Request, init?: RequestInit): Promise<Response>;
}

/**
 * `GATEWAY_CONFIG` for a test gateway: its config (the repo default when none), with the spend batch window at
 * 10 ms unless the test sets one, so that `settle()` does not wait out production's 100 ms on every call, and a
 * `sluice.call` log line for every call (tests read them) unless the test sets `spend.logCalls`. A
 * GATEWAY_CONFIG given in `vars` (an invalid one, say) is left as it is.
 */
function configVar(config: TestConfig, vars: Record<string, unknown>): { GATEWAY_CONFIG?: string } {
  if ("GATEWAY_CONFIG" in vars) return {};
  const base = (config ?? defaultConfig) as Record<string, unknown>;
  const spend = {
    batchWindowMs: 10,
    logCalls: "all",
    ...((base.spend as Record<string, unknown> | undefined) ?? {}),
  };
  return { GATEWAY_CONFIG: JSON.stringify({ ...base, spend }) };
}

/** A gateway bound to a config (`GATEWAY_CONFIG`) and any extra vars (provider secrets) or bindings. */
export function gateway(config?: TestConfig, vars: Record<string, unknown> = {}): Gateway {
  const testEnv = { ...env, ...vars, ...configVar(config, vars) };
  const pending: ExecutionContext[] = [];
  const call = async (input: string | URL | Request, init?: RequestInit) => {
    const ctx = createExecutionContext();
    pending.push(ctx);
    return worker.fetch(new Request(input, init), testEnv, ctx);
  };
  const g: Gateway = {
    call,
    fetch: (path, init) => call(BASE + path, init),
    async settle() {
      await Promise.all(pending.splice(0).map((ctx) => waitOnExecutionContext(ctx)));
    },
    async createKey(body = { name: "test" }) {
      const res = await g.fetch("/admin/keys", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`createKey: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { key: string }).key;
    },
  };
  return g;
}

/** JSON POST helper with a bearer key. */
export function post(body: unknown, key?: string, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}
