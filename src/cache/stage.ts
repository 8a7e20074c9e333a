import type { AliasCacheConfig, GatewayConfig } from "../config/schema";
import { sha256Hex } from "../crypto/hash";
import type { Stage, StageAnswer, StageCall, StageOutcome } from "../pipeline/stage";
import { formatUsd } from "../spend/money";
import { type CacheDirective, cacheDirective } from "./directive";
import { type CacheEntry, cacheability, parseEntry } from "./entry";
import { InFlight } from "./inflight";
import {
  fingerprint,
  lastUserText,
  requestHash,
  scopeHash,
  scopeOf,
  semanticEligible,
  shortHash,
} from "./key";
import { lexicalMismatch } from "./semantic/lexical";
import { DEFAULT_THRESHOLD } from "./semantic/similarity";
import type { SemanticTier } from "./semantic/tier";
import { type EntryMeta, MIN_TTL_SECONDS, type ResponseStore } from "./store/interface";

/** A decision of the semantic tier worth counting: a shadow would-be hit, or a verified hit's outcome. */
export interface CacheEvent {
  kind: "shadow" | "verified" | "false_hit";
  alias: string;
  score: number;
  at: number;
}

export interface CacheDeps {
  store: ResponseStore;
  /** Null when the semantic tier cannot run (aliases in `semantic` mode then use the exact tier alone). */
  semantic: SemanticTier | null;
  settings: GatewayConfig["cache"];
  /** Where shadow and verification outcomes go (the ledger's cache_events table). */
  events: (e: CacheEvent) => Promise<void>;
  inflight?: InFlight;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** What `before` worked out for a call, for its `after`. */
interface Plan {
  cfg: AliasCacheConfig;
  directive: CacheDirective;
  key: string;
  hash: string;
  scope: { hash: string; userHash: string | null };
  aliasHash: string;
  leader: boolean;
  semantic: { fp: string; question: string; vector: number[] | null } | null;
  /** A semantic hit sent upstream to be checked against the cached answer. */
  verify: { entryKey: string; vectorId: string; entry: CacheEntry; score: number } | null;
}

/** How far above a failed match's score an adaptive entry's own threshold moves. */
const THRESHOLD_STEP = 0.02;

/** A second write to one KV key within this time is skipped (KV takes about one write per key per second). */
const WRITE_GAP_MS = 1000;

/** The shared in-isolate coalescing table (one per isolate, like the key cache). */
const sharedInFlight = new InFlight();

/**
 * The response cache as a pipeline stage. `before`: the exact tier (KV, by request hash), then an identical
 * request already in flight here (wait for its answer), then the semantic tier (the nearest stored question in
 * the scope's namespace with the same fingerprint, above the threshold, lexically agreeing, its entry still
 * in KV). `after`: a complete, cacheable answer is stored (KV; the question's vector for the semantic tier).
 * A cache that is slow or down is a miss: the call never fails because of the cache.
 */
export function cacheStage(deps: CacheDeps): Stage {
  const inflight = deps.inflight ?? sharedInFlight;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const plans = new WeakMap<StageCall, Plan>();
  const lastWrite = new Map<string, { at: number; ticket: object }>();
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  const hit = (call: StageCall, entry: CacheEntry, kind: "HIT" | "SEMANTIC", score?: number): StageAnswer => {
    const headers: Record<string, string> = {
      "x-sluice-cache": kind,
      "x-sluice-cache-age": String(Math.max(0, Math.floor((now() - entry.createdAt) / 1000))),
      "x-sluice-provider": entry.provider,
      "x-sluice-model": entry.model,
    };
    if (score !== undefined) headers["x-sluice-cache-score"] = score.toFixed(4);
    if (!call.stream) headers["x-sluice-cost-usd"] = formatUsd(0);
    return { text: entry.answer, headers, cache: kind, savedPicoUsd: entry.costPicoUsd ?? 0 };
  };

  const read = async (key: string): Promise<CacheEntry | null> => {
    try {
      const entry = parseEntry(await deps.store.get(key));
      return entry && entry.expiresAt > now() ? entry : null;
    } catch (err) {
      warn("sluice.cache.read_failed", err);
      return null;
    }
  };

  /** The semantic tier's answer, or null; everything it does counts against the lookup budget. */
  const semanticLookup = async (plan: Plan, call: StageCall): Promise<StageAnswer | null> => {
    const tier = deps.semantic;
    if (!tier || !plan.semantic) return null;
    const sem = plan.semantic;
    const threshold = plan.cfg.threshold ?? DEFAULT_THRESHOLD;
    const work = (async () => {
      sem.vector = await tier.embed(sem.question);
      const found = await tier.candidates({
        namespace: plan.scope.hash,
        fp: sem.fp,
        vector: sem.vector,
        threshold,
      });
      for (const c of found) {
        const key = entryKey(plan.scope.hash, plan.aliasHash, c.key);
        const entry = await read(key);
        if (!entry?.question) continue;
        // An entry that answered wrongly before asks for a closer match (adaptive thresholds).
        if (entry.threshold !== undefined && c.score < entry.threshold) continue;
        if (lexicalMismatch(entry.question, sem.question) !== null) continue;
        return { entry, key, candidate: c };
      }
      return null;
    })();
    const found = await withinBudget(work, deps.settings.lookupBudgetMs).catch((err) => {
      warn("sluice.cache.semantic_failed", err);
      return null;
    });
    if (!found) return null;
    if (plan.cfg.shadow) {
      await deps.events({
        kind: "shadow",
        alias: call.route.requested,
        score: found.candidate.score,
        at: now(),
      });
      return null;
    }
    if (random() < plan.cfg.verifyRate) {
      plan.verify = {
        entryKey: found.key,
        vectorId: found.candidate.id,
        entry: found.entry,
        score: found.candidate.score,
      };
      return null;
    }
    // Identical requests waiting on this one get the same entry (an exact repeat of this paraphrase).
    if (plan.leader) inflight.settle(plan.key, JSON.stringify(found.entry));
    return hit(call, found.entry, "SEMANTIC", found.candidate.score);
  };

  return {
    name: "cache",

    async before(call) {
      const cfg = call.route.cache;
      if (!cfg || call.op !== "chat" || call.lossy) return null;
      const directive = cacheDirective(call.headers);
      const temperature = call.body.temperature;
      if (directive.mode === "no-store") return null;
      if (typeof temperature === "number" && temperature > cfg.maxTemperature) return null;
      const scope = scopeOf(cfg.scope, call);
      const [sHash, aliasHash, hash] = await Promise.all([
        scopeHash(scope.name),
        shortHash("alias", call.route.requested),
        requestHash(call.op, call.route.requested, call.body, [...call.dropped]),
      ]);
      const userHash = scope.kind === "user" && call.endUser ? await shortHash("user", call.endUser) : null;
      const key = entryKey(sHash, aliasHash, hash);
      const question = lastUserText(call.body);
      const semantic =
        cfg.mode === "semantic" &&
        deps.semantic &&
        question !== null &&
        semanticEligible(call.body, cfg.maxTurns)
          ? {
              fp: await fingerprint(call.op, call.route.requested, deps.semantic.embedder.id, call.body),
              question,
              vector: null,
            }
          : null;
      const plan: Plan = {
        cfg,
        directive,
        key,
        hash,
        scope: { hash: sHash, userHash },
        aliasHash,
        leader: false,
        semantic,
        verify: null,
      };
      plans.set(call, plan);
      call.notes.cache = "MISS";
      call.notes.wantsText = true;
      if (directive.mode === "refresh") return null;

      const entry = await read(key);
      if (entry) return hit(call, entry, "HIT");
      if (inflight.leading(key)) {
        const shared = parseEntry(await inflight.follow(key, deps.settings.coalesceMs));
        if (shared) return hit(call, shared, "HIT");
      } else {
        plan.leader = inflight.lead(key, deps.settings.coalesceMs);
      }
      return semanticLookup(plan, call);
    },

    after(call, outcome) {
      const plan = plans.get(call);
      return plan ? fill(plan, call, outcome) : undefined;
    },

    failed(call) {
      const plan = plans.get(call);
      if (plan?.leader) inflight.settle(plan.key, null);
    },
  };

  /** `after` for a call the cache looked up: the in-flight followers told, the answer stored if cacheable. */
  async function fill(plan: Plan, call: StageCall, outcome: StageOutcome): Promise<void> {
    const entry = outcome.completed && outcome.text ? entryOf(plan, outcome) : null;
    if (plan.leader) inflight.settle(plan.key, entry ? JSON.stringify(entry) : null);
    if (plan.verify) await checkVerified(plan, call, outcome);
    if (!entry) return;
    const kind = cacheability(JSON.parse(entry.answer) as Record<string, unknown>);
    if (kind === "none" || (kind === "tools" && plan.cfg.toolCalls === "skip")) return;
    await store(plan, entry);
    if (plan.semantic && (kind === "text" || plan.cfg.toolCalls === "cache")) await index(plan);
  }

  function entryOf(plan: Plan, outcome: StageOutcome): CacheEntry | null {
    if (!outcome.text) return null;
    return {
      v: 1,
      answer: outcome.text,
      costPicoUsd: outcome.costPicoUsd,
      provider: outcome.provider,
      model: outcome.model,
      createdAt: now(),
      expiresAt: now() + ttlOf(plan) * 1000,
      ...(plan.semantic ? { question: plan.semantic.question } : {}),
    };
  }

  /**
   * Writes an entry. KV takes about one write per key per second: a write that follows another within that
   * waits out the gap (inside waitUntil) and is dropped only if a newer one for the key came meanwhile.
   */
  async function store(plan: Plan, entry: CacheEntry): Promise<void> {
    const ticket = {};
    const last = lastWrite.get(plan.key);
    lastWrite.set(plan.key, { at: Math.max(now(), (last?.at ?? 0) + WRITE_GAP_MS), ticket });
    if (lastWrite.size > 10_000) lastWrite.delete(lastWrite.keys().next().value as string);
    const wait = last ? last.at + WRITE_GAP_MS - now() : 0;
    if (wait > 0) {
      await sleep(wait);
      if (lastWrite.get(plan.key)?.ticket !== ticket) return;
    }
    const tags = await Promise.all(plan.directive.tags.map((t) => shortHash("tag", t)));
    const metadata: EntryMeta = { a: plan.aliasHash, c: entry.createdAt };
    if (tags.length > 0) metadata.t = tags;
    if (plan.scope.userHash) metadata.u = plan.scope.userHash;
    try {
      await deps.store.put(plan.key, JSON.stringify(entry), {
        ttlSeconds: ttlOf(plan),
        metadata,
      });
    } catch (err) {
      warn("sluice.cache.write_failed", err);
    }
  }

  async function index(plan: Plan): Promise<void> {
    const tier = deps.semantic;
    const sem = plan.semantic;
    if (!tier || !sem) return;
    try {
      sem.vector ??= await tier.embed(sem.question);
      await tier.add({
        namespace: plan.scope.hash,
        fp: sem.fp,
        id: await vectorId(plan.scope.hash, plan.hash),
        key: plan.hash,
        vector: sem.vector,
      });
    } catch (err) {
      warn("sluice.cache.index_failed", err);
    }
  }

  /** A verified semantic hit: the fresh answer agrees with the cached one, or the entry goes. */
  async function checkVerified(plan: Plan, call: StageCall, outcome: StageOutcome): Promise<void> {
    const v = plan.verify;
    if (!v || !outcome.completed || !outcome.text) return;
    const agree = answersAgree(v.entry.answer, outcome.text);
    await deps.events({
      kind: agree ? "verified" : "false_hit",
      alias: call.route.requested,
      score: v.score,
      at: now(),
    });
    if (agree) return;
    try {
      const left = Math.floor((v.entry.expiresAt - now()) / 1000);
      if (plan.cfg.adaptive && left >= MIN_TTL_SECONDS) {
        // vCache-style: the entry stays, but only a match closer than the one that failed may use it again.
        const threshold = Math.min(1, Math.max(v.entry.threshold ?? 0, v.score + THRESHOLD_STEP));
        await deps.store.put(v.entryKey, JSON.stringify({ ...v.entry, threshold }), {
          ttlSeconds: left,
          metadata: { a: plan.aliasHash, c: v.entry.createdAt },
        });
        return;
      }
      await Promise.all([
        deps.store.delete(v.entryKey),
        deps.semantic?.remove(plan.scope.hash, [v.vectorId]),
      ]);
    } catch (err) {
      warn("sluice.cache.evict_failed", err);
    }
  }
}

/** An entry's lifetime: the request's `x-sluice-cache-ttl`, else the alias's. */
function ttlOf(plan: Plan): number {
  return plan.directive.ttlSeconds ?? plan.cfg.ttlSeconds;
}

/** The KV key of an entry: `rc:<scope>:<alias>:<request hash>` (hashes only). */
export function entryKey(scope: string, alias: string, hash: string): string {
  return `rc:${scope}:${alias}:${hash}`;
}

/** A question's vector id: unique across the index, since one request can be cached in many scopes. */
function vectorId(scope: string, hash: string): Promise<string> {
  return sha256Hex(`${scope}:${hash}`);
}

/** Whether a fresh answer says what the cached one said: the same text, or no lexical difference between them. */
function answersAgree(cached: string, fresh: string): boolean {
  const text = (a: string) => {
    const c = (JSON.parse(a) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message
      ?.content;
    return typeof c === "string" ? c.trim() : "";
  };
  const [a, b] = [text(cached), text(fresh)];
  return a === b || (a !== "" && lexicalMismatch(a, b) === null && similarWords(a, b) >= 0.6);
}

/** Share of distinct words two texts have in common (Jaccard). */
function similarWords(a: string, b: string): number {
  const words = (t: string) => new Set(t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const [x, y] = [words(a), words(b)];
  let common = 0;
  for (const w of x) if (y.has(w)) common++;
  const union = x.size + y.size - common;
  return union === 0 ? 1 : common / union;
}

function withinBudget<T>(work: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function warn(event: string, err: unknown): void {
  console.warn(JSON.stringify({ event, error: String(err) }));
}
