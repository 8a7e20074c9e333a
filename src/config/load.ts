import { GatewayError } from "../http/errors";
import { describeIssues } from "../http/validate";
import defaultConfig from "./default.json";
import { configSchema, type GatewayConfig, type ProviderConfig } from "./schema";

type Result = { ok: true; config: GatewayConfig } | { ok: false; message: string };

let parsed: { raw: string; result: Result } | undefined;
const resolvedByEnv = new WeakMap<object, { parsed: GatewayConfig; result: Result }>();
const DEFAULT_RAW = JSON.stringify(defaultConfig);

/** Parses and validates the raw config text; memoized on the text, so each isolate parses it once. */
function parse(raw: string): Result {
  if (parsed?.raw === raw) return parsed.result;
  let json: unknown;
  let result: Result;
  try {
    json = JSON.parse(raw);
    const r = configSchema.safeParse(json);
    result = r.success ? { ok: true, config: r.data } : { ok: false, message: describeIssues(r.error) };
  } catch (e) {
    result = { ok: false, message: `GATEWAY_CONFIG is not valid JSON (${(e as Error).message})` };
  }
  parsed = { raw, result };
  return result;
}

/** Provider fields that may hold `env:NAME` references (besides `headers` values). */
const SECRET_FIELDS = ["apiKey", "accessKeyId", "secretAccessKey", "sessionToken", "serviceAccount"] as const;

/** Replaces every `env:NAME` value in a provider with the variable's value; a missing one is an error. */
function resolveSecrets(cfg: GatewayConfig, vars: Record<string, unknown>): Result {
  const missing: string[] = [];
  const read = (value: string, path: string): string => {
    if (!value.startsWith("env:")) return value;
    const name = value.slice(4);
    const v = vars[name];
    if (typeof v === "string" && v !== "") return v;
    missing.push(`${path}: environment variable ${name} is not set`);
    return "";
  };
  const providers: Record<string, ProviderConfig> = {};
  for (const [name, p] of Object.entries(cfg.providers)) {
    const out: Record<string, unknown> = { ...p };
    for (const field of SECRET_FIELDS) {
      const v = out[field];
      if (typeof v === "string") out[field] = read(v, `providers.${name}.${field}`);
    }
    if (p.headers) {
      out.headers = Object.fromEntries(
        Object.entries(p.headers).map(([h, v]) => [h, read(v, `providers.${name}.headers.${h}`)]),
      );
    }
    providers[name] = out as ProviderConfig;
  }
  if (missing.length > 0) return { ok: false, message: missing.join("; ") };
  return { ok: true, config: { ...cfg, providers } };
}

/**
 * The gateway config for this request: `GATEWAY_CONFIG` when set, else the repo default, validated and with
 * secrets resolved. A bad config throws `config_invalid` naming the field, on every request until fixed.
 */
export function loadConfig(env: { GATEWAY_CONFIG?: string | undefined } & object): GatewayConfig {
  const raw = env.GATEWAY_CONFIG?.trim() ? env.GATEWAY_CONFIG : DEFAULT_RAW;
  const base = parse(raw);
  if (!base.ok) throw new GatewayError("config_invalid", `Invalid gateway config: ${base.message}`);
  let cached = resolvedByEnv.get(env);
  if (cached?.parsed !== base.config) {
    cached = { parsed: base.config, result: resolveSecrets(base.config, env as Record<string, unknown>) };
    resolvedByEnv.set(env, cached);
  }
  if (!cached.result.ok) {
    throw new GatewayError("config_invalid", `Invalid gateway config: ${cached.result.message}`);
  }
  return cached.result.config;
}
