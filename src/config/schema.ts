import * as z from "zod";
import { PRESET_NAMES } from "../providers/presets";
import { type Rule, ruleSchema } from "../routing/rules";

/** A literal value, or `env:NAME` to read a Worker secret/var at request time. */
const secretRef = z.string().min(1);
const url = z.url({ protocol: /^https?$/ });

const common = {
  apiKey: secretRef.optional(),
  baseUrl: url.optional(),
  /** Extra headers sent upstream (e.g. OpenRouter's `HTTP-Referer`); values may be `env:NAME`. */
  headers: z.record(z.string(), secretRef).optional(),
  /** Models this provider serves under their own names: listed by /v1/models, addressable without a prefix. */
  models: z.array(z.string().min(1)).optional(),
  /** Native translators: refuse (400) a request field the provider cannot take, instead of dropping it. */
  strict: z.boolean().default(false),
};

/**
 * Whether the API serves OpenAI's Responses API itself: a `/v1/responses` request then passes through to it as it
 * came (built-in tools work only so); false translates it to chat completions like any other provider's.
 */
const responsesApi = (served: boolean) => z.boolean().default(served);

const openaiProvider = z.strictObject({
  type: z.literal("openai"),
  ...common,
  organization: z.string().optional(),
  responsesApi: responsesApi(true),
});

const azureProvider = z.strictObject({
  type: z.literal("azure-openai"),
  ...common,
  baseUrl: url,
  apiVersion: z.string().min(1).default("2024-10-21"),
  /** Model name → deployment name; a model without an entry is used as the deployment name. */
  deployments: z.record(z.string(), z.string().min(1)).optional(),
  /** Azure serves the Responses API on its v1 surface (`/openai/v1/responses`, the deployment as the model). */
  responsesApi: responsesApi(true),
});

const compatibleProvider = z
  .strictObject({
    type: z.literal("openai-compatible"),
    ...common,
    preset: z.enum(PRESET_NAMES).optional(),
    /** Some compatible servers (vLLM, OpenRouter, Ollama) serve `/v1/responses` too: true passes it through. */
    responsesApi: responsesApi(false),
  })
  .refine((p) => p.preset !== undefined || p.baseUrl !== undefined, {
    message: "openai-compatible needs a baseUrl or a preset",
    path: ["baseUrl"],
  });

const mockProvider = z.strictObject({
  type: z.literal("mock"),
  ...common,
  /** Delay before the response headers, in ms. */
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  /** Delay between stream chunks, in ms. */
  chunkDelayMs: z.number().int().min(0).max(10_000).default(0),
  /** Share of requests (0–1) answered with a 503, for fallback demos. Model `fail-<status>` always fails. */
  failRate: z.number().min(0).max(1).default(0),
});

const anthropicProvider = z.strictObject({
  type: z.literal("anthropic"),
  ...common,
  /** The Anthropic API version Sluice speaks upstream. */
  apiVersion: z.enum(["2026-10-21", "2023-06-01"]).default("2026-10-21"),
  /** `max_tokens` sent when the client gives none (the Messages API requires it). */
  defaultMaxTokens: z.number().int().min(1).default(4096),
});

const geminiProvider = z.strictObject({ type: z.literal("gemini"), ...common });

const bedrockProvider = z.strictObject({
  type: z.literal("bedrock"),
  ...common,
  region: z.string().min(1),
  accessKeyId: secretRef,
  secretAccessKey: secretRef,
  sessionToken: secretRef.optional(),
});

/** Google Cloud Vertex AI: Gemini and Claude models, authenticated with a service account. */
const vertexProvider = z.strictObject({
  type: z.literal("vertex"),
  baseUrl: common.baseUrl,
  headers: common.headers,
  models: common.models,
  strict: common.strict,
  /** The Google Cloud project id. */
  project: z.string().regex(/^[a-z0-9][a-z0-9.:-]*$/, "a Google Cloud project id, e.g. my-project"),
  /** A Vertex region (`us-central1`, `europe-west4`, `us-east5`, …) or `global`. */
  region: z
    .string()
    .regex(/^(global|[a-z]+-[a-z]+[0-9]+)$/, "a Vertex region such as us-central1, or global"),
  /** The service-account key file's JSON text, usually `env:NAME`. */
  serviceAccount: secretRef,
  /** Claude models: `max_tokens` sent when the client gives none (the Messages API requires it). */
  defaultMaxTokens: z.number().int().min(1).default(4096),
});

const workersAiProvider = z.strictObject({
  type: z.literal("workers-ai"),
  ...common,
  /** Name of the Workers AI binding in wrangler.toml. */
  binding: z.string().min(1).default("AI"),
});

export const providerSchema = z.discriminatedUnion("type", [
  openaiProvider,
  azureProvider,
  compatibleProvider,
  anthropicProvider,
  geminiProvider,
  bedrockProvider,
  vertexProvider,
  workersAiProvider,
  mockProvider,
]);

/** The response cache of one alias (see cache/): off unless the alias says otherwise. */
export const aliasCacheSchema = z.strictObject({
  mode: z.enum(["off", "exact", "semantic"]).default("off"),
  /** Entry lifetime; KV refuses TTLs under 60 s. */
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(365 * 86_400)
    .default(3600),
  /** Cosine similarity a semantic match needs (the lexical check must agree as well). */
  threshold: z.number().min(0).max(1).optional(),
  /** Whose answers a request may receive: the key's own (default), its end user's, its team's, or everyone's. */
  scope: z.enum(["key", "user", "team", "global"]).default("key"),
  /** Semantic tier decides and counts would-be hits but serves none (for tuning the threshold). */
  shadow: z.boolean().default(false),
  /** Share of semantic hits also sent upstream to check the cached answer (failed checks evict it). */
  verifyRate: z.number().min(0).max(1).default(0),
  /** A failed check raises the entry's own threshold above the failed match's score instead of evicting it. */
  adaptive: z.boolean().default(false),
  /** Conversations with more user turns than this skip the semantic tier. */
  maxTurns: z.number().int().min(1).max(100).default(4),
  /** Answers that call tools: cached in both tiers, in the exact tier only (default), or never. */
  toolCalls: z.enum(["cache", "exact", "skip"]).default("exact"),
  /** Requests with a higher `temperature` bypass the cache (their caller wants variety). */
  maxTemperature: z.number().min(0).max(2).default(1),
});

const embedderSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("local"), dimensions: z.number().int().min(32).max(4096).default(384) }),
  z.strictObject({
    type: z.literal("workers-ai"),
    model: z.string().min(1).default("@cf/baai/bge-m3"),
    /** Name of the Workers AI binding. */
    binding: z.string().min(1).default("AI"),
    /** Vector length; known for Workers AI's embedding models, needed for others. */
    dimensions: z.number().int().min(32).max(4096).optional(),
  }),
  z.strictObject({
    type: z.literal("route"),
    /** An alias or provider/model of an embeddings model served by this gateway. */
    model: z.string().min(1),
    /** The model's vector length (e.g. 1536 for text-embedding-3-small). */
    dimensions: z.number().int().min(32).max(4096).default(1536),
  }),
]);

export const STRATEGIES = ["fallback", "loadbalance", "latency", "cost", "conditional"] as const;
export type Strategy = (typeof STRATEGIES)[number];
/** The upstream statuses retried at the same target unless an alias's `retry.on` says otherwise. */
export const DEFAULT_RETRY_ON: readonly number[] = [408, 409, 429, 500, 502, 503, 504, 529];

/** One upstream: a provider's model. */
export interface TargetLeafConfig {
  provider: string;
  model: string;
  weight: number;
}

/** A group of targets with its own strategy, standing where a target may stand. */
export interface TargetGroupConfig {
  strategy: Strategy;
  targets: TargetNodeConfig[];
  weight: number;
  rules?: Rule[] | undefined;
  default: number;
  explore: number;
}

export type TargetNodeConfig = TargetLeafConfig | TargetGroupConfig;

const weight = z.number().int().min(1).max(1000).default(1);

const leafSchema = z.strictObject({ provider: z.string().min(1), model: z.string().min(1), weight });

/**
 * A target or a nested group, told apart by `targets` (a group's) so that a mistake is reported against the
 * shape that was meant, not against both.
 */
const targetNodeSchema: z.ZodType<TargetNodeConfig, unknown> = z.unknown().transform((v, ctx) => {
  const group = typeof v === "object" && v !== null && "targets" in v;
  const r = (group ? groupSchema : leafSchema).safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

/** The fields every group has, the alias itself included. */
const groupFields = {
  strategy: z.enum(STRATEGIES).default("fallback"),
  targets: z.array(targetNodeSchema).min(1),
  /** `conditional`: the first rule whose `when` holds chooses `targets[use]`. */
  rules: z.array(ruleSchema).optional(),
  /** `conditional`: the target used when no rule holds. */
  default: z.number().int().min(0).default(0),
  /** `latency`: the share of calls sent first to another target than the fastest, so a recovered one is seen. */
  explore: z.number().min(0).max(1).default(0.1),
};

const groupSchema = z.strictObject({ ...groupFields, weight });

const ms = (max: number) => z.number().int().min(1).max(max);

const modelSchema = z.strictObject({
  ...groupFields,
  retry: z
    .strictObject({
      /** Tries per target, the first included. */
      attempts: z.number().int().min(1).max(10).default(1),
      /** Base delay before a retry, doubled each time (an upstream Retry-After wins, up to 10 s). */
      backoffMs: z.number().int().min(0).max(10_000).default(250),
      /** Upstream statuses retried at the same target (others move on to the next target or end the call). */
      on: z.array(z.number().int().min(100).max(599)).default(() => [...DEFAULT_RETRY_ON]),
    })
    .default(() => ({ attempts: 1, backoffMs: 250, on: [...DEFAULT_RETRY_ON] })),
  /** Time allowed for each upstream attempt to answer with headers. */
  timeoutMs: ms(600_000).default(60_000),
  /** Time allowed for each attempt until its first content event; none when absent. */
  firstTokenTimeoutMs: ms(600_000).optional(),
  /** Longest silence between two stream chunks; none when absent. */
  idleTimeoutMs: ms(600_000).optional(),
  /** The whole call from its arrival, every retry and fallback included; none when absent. */
  deadlineMs: ms(3_600_000).optional(),
  /** A circuit breaker on each of the alias's targets (shared per provider + model); none when absent. */
  breaker: z
    .strictObject({
      /** Failures within `windowMs` that open the breaker. */
      failures: z.number().int().min(1).max(1000).default(5),
      windowMs: ms(86_400_000).default(60_000),
      /** How long it stays open before a probe may go through. */
      cooldownMs: ms(86_400_000).default(30_000),
    })
    .optional(),
  cache: aliasCacheSchema.optional(),
});

type Issues = { addIssue(issue: { code: "custom"; message: string; path: (string | number)[] }): void };

/** A group's references, checked once the whole config is parsed: providers exist, rule indexes exist. */
function checkGroup(
  providers: Record<string, unknown>,
  g: Omit<TargetGroupConfig, "weight">,
  path: (string | number)[],
  ctx: Issues,
): void {
  g.targets.forEach((t, i) => {
    const at = [...path, "targets", i];
    if ("targets" in t) checkGroup(providers, t, at, ctx);
    else if (typeof t.provider === "string" && !Object.hasOwn(providers, t.provider)) {
      ctx.addIssue({
        code: "custom",
        message: `unknown provider '${t.provider}'`,
        path: [...at, "provider"],
      });
    }
  });
  const n = g.targets.length;
  if (n === 0) return; // reported as too few targets
  const outOfRange = (i: number) => `no target ${i}: this group's targets are 0–${n - 1}`;
  if (g.rules && g.strategy !== "conditional") {
    const message = `rules apply to strategy 'conditional' only (this group's is '${g.strategy}')`;
    ctx.addIssue({ code: "custom", message, path: [...path, "rules"] });
  }
  g.rules?.forEach((r, i) => {
    if (r.use >= n)
      ctx.addIssue({ code: "custom", message: outOfRange(r.use), path: [...path, "rules", i, "use"] });
  });
  if (g.default >= n)
    ctx.addIssue({ code: "custom", message: outOfRange(g.default), path: [...path, "default"] });
}

export const configSchema = z
  .strictObject({
    providers: z.record(z.string().regex(/^[a-zA-Z0-9_-]+$/), providerSchema),
    models: z.record(z.string().min(1), modelSchema).default({}),
    keys: z
      .strictObject({
        /** How long a key lookup is cached per isolate; the bound on how late a revocation takes effect. */
        cacheTtlSeconds: z.number().int().min(0).max(300).default(30),
      })
      .default({ cacheTtlSeconds: 30 }),
    /** Prices per model (`provider/model` or model name), USD per million tokens; they win over the price table. */
    pricing: z
      .record(
        z.string().min(1),
        z.strictObject({
          input: z.number().min(0),
          output: z.number().min(0),
          cachedInput: z.number().min(0).optional(),
          cacheWrite: z.number().min(0).optional(),
          /** Cache writes kept for an hour (Anthropic's 1-hour TTL); default twice `input`. */
          cacheWrite1h: z.number().min(0).optional(),
          reasoning: z.number().min(0).optional(),
        }),
      )
      .default({}),
    /** The spend ledger: raw-row retention (daily rollups are kept) and write-buffer shards. */
    spend: z
      .strictObject({
        /** Raw spend rows older than this are deleted; 0 keeps them forever. */
        retentionDays: z.number().int().min(0).max(36_500).default(90),
        /** Buffer Durable Objects (`spend:<n>`) the rows are spread over. */
        shards: z.number().int().min(1).max(64).default(4),
        /**
         * Rows of calls ending within this window in one isolate travel to the buffer in one RPC (the buffer's
         * storage commit per RPC is the ledger's main cost); a row waits at most this long in the isolate.
         */
        batchWindowMs: z.number().int().min(0).max(1000).default(100),
        /**
         * Which calls also get a `sluice.call` log line (`wrangler tail`, Workers Logs): every call, only failed
         * ones (status ≥ 400 or an error code, the default), or none. The ledger has every call either way; a line
         * per call costs CPU on the request's isolate and a log event each.
         */
        logCalls: z.enum(["all", "errors", "none"]).default("errors"),
      })
      .default({ retentionDays: 90, shards: 4, batchWindowMs: 100, logCalls: "errors" }),
    /** The response cache's shared parts; each alias turns it on in its own `cache`. */
    cache: z
      .strictObject({
        embedder: embedderSchema.default({ type: "local", dimensions: 384 }),
        /** Time a semantic lookup (embed + query) may take before the call proceeds as a miss. */
        lookupBudgetMs: z.number().int().min(1).max(10_000).default(150),
        /** How long identical requests wait for the first one's answer before going upstream themselves. */
        coalesceMs: z.number().int().min(0).max(120_000).default(30_000),
        /** The offline vector index (used when no VECTORIZE binding exists): delay before a write is queryable. */
        localIndexVisibilityMs: z.number().int().min(0).max(600_000).default(2000),
      })
      .default({
        embedder: { type: "local", dimensions: 384 },
        lookupBudgetMs: 150,
        coalesceMs: 30_000,
        localIndexVisibilityMs: 2000,
      }),
    limits: z
      .strictObject({
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .default(25 * 1024 * 1024),
        /** A limit reservation not settled by then (the Worker died mid-call) is dropped by the limiter's alarm. */
        reservationTtlSeconds: z.number().int().min(1).max(86_400).default(900),
        /** The output cap sent for a budgeted key's chat call that sets none, so its worst case is bounded. */
        defaultMaxTokens: z.number().int().min(1).max(1_000_000).default(4096),
      })
      .default({ maxBodyBytes: 25 * 1024 * 1024, reservationTtlSeconds: 900, defaultMaxTokens: 4096 }),
  })
  .superRefine((cfg, ctx) => {
    for (const [alias, m] of Object.entries(cfg.models)) checkGroup(cfg.providers, m, ["models", alias], ctx);
  });

export type GatewayConfig = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type ModelConfig = GatewayConfig["models"][string];
export type AliasCacheConfig = z.infer<typeof aliasCacheSchema>;
export type BreakerConfig = NonNullable<ModelConfig["breaker"]>;
