import * as z from "zod";
import type { LocalVectorIndex } from "./cache/vectors/durable-object";
import { GatewayError } from "./http/errors";
import { describeIssues } from "./http/validate";
import type { Limiter } from "./limits/limiter";
import type { CircuitBreaker } from "./routing/breaker/durable-object";
import type { SpendBuffer } from "./spend/buffer";

/** Bindings and variables Sluice reads. Other variables stay available to `env:NAME` config references. */
const envSchema = z.looseObject({
  DB: z.custom<D1Database>((v) => typeof (v as D1Database | undefined)?.prepare === "function", {
    message: "D1 binding DB is missing (see wrangler.toml)",
  }),
  SPEND: z.custom<DurableObjectNamespace<SpendBuffer>>(
    (v) => typeof (v as DurableObjectNamespace | undefined)?.idFromName === "function",
    { message: "Durable Object binding SPEND is missing (see wrangler.toml)" },
  ),
  LIMITS: z.custom<DurableObjectNamespace<Limiter>>(
    (v) => typeof (v as DurableObjectNamespace | undefined)?.idFromName === "function",
    { message: "Durable Object binding LIMITS is missing (see wrangler.toml)" },
  ),
  /** The response cache's KV namespace; an in-isolate store stands in when it is absent. */
  CACHE: z
    .custom<KVNamespace>((v) => typeof (v as KVNamespace | undefined)?.getWithMetadata === "function")
    .optional(),
  /** The offline vector index (Durable Objects), used when VECTORIZE is absent. */
  VECTORS: z.custom<DurableObjectNamespace<LocalVectorIndex>>(
    (v) => typeof (v as DurableObjectNamespace | undefined)?.idFromName === "function",
    { message: "Durable Object binding VECTORS is missing (see wrangler.toml)" },
  ),
  /** The targets' circuit breakers, shared across isolates; each isolate keeps its own when it is absent. */
  BREAKERS: z
    .custom<DurableObjectNamespace<CircuitBreaker>>(
      (v) => typeof (v as DurableObjectNamespace | undefined)?.idFromName === "function",
    )
    .optional(),
  /** Vectorize, for the semantic cache in production. */
  VECTORIZE: z.custom<Vectorize>((v) => typeof (v as Vectorize | undefined)?.query === "function").optional(),
  ADMIN_TOKEN: z
    .string({
      message: "secret ADMIN_TOKEN is not set (wrangler secret put ADMIN_TOKEN, or .dev.vars locally)",
    })
    .min(16, "ADMIN_TOKEN must be at least 16 characters"),
  GATEWAY_CONFIG: z.string().optional(),
  /** Signs browser tokens; ADMIN_TOKEN when unset. Rotating it invalidates outstanding tokens. */
  TOKEN_SECRET: z.string().min(16, "TOKEN_SECRET must be at least 16 characters").optional(),
});

export type Env = z.infer<typeof envSchema>;

const checked = new WeakSet<object>();

/** Validates the bindings once per env object; a missing binding is a `config_invalid` error naming it. */
export function checkEnv(env: unknown): Env {
  if (typeof env === "object" && env !== null && checked.has(env)) return env as Env;
  const r = envSchema.safeParse(env);
  if (!r.success) throw new GatewayError("config_invalid", `Invalid environment: ${describeIssues(r.error)}`);
  checked.add(env as object);
  return env as Env;
}
