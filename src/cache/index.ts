import { directRoute, type Route, resolveModel } from "../config/resolve";
import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import { GatewayError } from "../http/errors";
import type { Stage } from "../pipeline/stage";
import type { Embedder } from "./embedder/interface";
import { localEmbedder } from "./embedder/local";
import { routeEmbedder, WORKERS_AI_DIMENSIONS } from "./embedder/route";
import { d1CacheEvents } from "./events";
import { SemanticTier } from "./semantic/tier";
import { cacheStage } from "./stage";
import type { ResponseStore } from "./store/interface";
import { kvStore } from "./store/kv";
import { memoryStore } from "./store/memory";
import { nearStore } from "./store/near";
import { localVectorIndex } from "./vectors/durable-object";
import type { VectorIndex } from "./vectors/interface";
import { vectorizeIndex } from "./vectors/vectorize";

/**
 * The cache's ports, chosen by what is bound: KV (`CACHE`) or an in-isolate store; Vectorize (`VECTORIZE`) or
 * the offline Durable Object index (`VECTORS`); the configured embedder, or the offline one when its Workers AI
 * binding is absent (local dev).
 */
export function responseStore(env: Env): ResponseStore {
  let store = stores.get(env);
  if (!store) {
    store = env.CACHE ? nearStore(kvStore(env.CACHE)) : memoryStore();
    stores.set(env, store);
  }
  return store;
}
/** One per env object (per isolate): the near cache in front of KV, or the in-isolate twin, is shared. */
const stores = new WeakMap<Env, ResponseStore>();

function embedderFor(env: Env, config: GatewayConfig): Embedder {
  const e = config.cache.embedder;
  if (e.type === "local") return localEmbedder(e.dimensions);
  if (e.type === "workers-ai") {
    if (!env[e.binding]) return localEmbedder();
    const dimensions = e.dimensions ?? WORKERS_AI_DIMENSIONS[e.model];
    if (!dimensions) {
      throw new GatewayError(
        "config_invalid",
        `cache.embedder.dimensions: the vector length of '${e.model}' is not known; set it.`,
      );
    }
    const provider = { type: "workers-ai", binding: e.binding, strict: false } as const;
    const route = directRoute(e.model, "cache-embedder", provider, e.model, {
      retry: { attempts: 2, backoffMs: 100 },
      timeoutMs: 10_000,
    });
    return routeEmbedder(`workers-ai:${e.model}`, route, dimensions, env);
  }
  let route: Route;
  try {
    route = resolveModel(config, e.model);
  } catch {
    throw new GatewayError("config_invalid", `cache.embedder.model: no model '${e.model}' is configured.`);
  }
  return routeEmbedder(`route:${e.model}`, route, e.dimensions, env);
}

function vectorIndexFor(env: Env, config: GatewayConfig, dimensions: number): VectorIndex {
  if (env.VECTORIZE) return vectorizeIndex(env.VECTORIZE);
  return localVectorIndex(env.VECTORS, { dimensions, visibilityMs: config.cache.localIndexVisibilityMs });
}

/** The response cache of a deployment: its pipeline stage and the ports the admin routes use too. */
export interface Cache {
  stage: Stage;
  store: ResponseStore;
  /** Null when no alias is in `semantic` mode. */
  semantic: SemanticTier | null;
}

const built = new WeakMap<GatewayConfig, WeakMap<Env, Cache | null>>();

/** The cache for a config (null when no alias caches), built once per config and env object. */
export function cacheFor(env: Env, config: GatewayConfig): Cache | null {
  let byEnv = built.get(config);
  if (!byEnv) {
    byEnv = new WeakMap();
    built.set(config, byEnv);
  }
  const known = byEnv.get(env);
  if (known !== undefined) return known;
  const modes = Object.values(config.models).map((m) => m.cache?.mode ?? "off");
  let cache: Cache | null = null;
  if (modes.some((m) => m !== "off")) {
    let semantic: SemanticTier | null = null;
    if (modes.includes("semantic")) {
      const embedder = embedderFor(env, config);
      semantic = new SemanticTier(embedder, vectorIndexFor(env, config, embedder.dimensions));
    }
    const store = responseStore(env);
    const stage = cacheStage({ store, semantic, settings: config.cache, events: d1CacheEvents(env.DB) });
    cache = { stage, store, semantic };
  }
  byEnv.set(env, cache);
  return cache;
}
