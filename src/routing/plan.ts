import { cacheAffinity, rendezvousOrder } from "../config/affinity";
import type { Route, Target, TargetGroup, TargetNode } from "../config/resolve";
import type { GatewayConfig } from "../config/schema";
import { pricesFor } from "../spend/pricing";
import { matchRule, type RequestFacts } from "./rules";

export type { RequestFacts } from "./rules";

/** One target to try, in plan order, and why it stands there. */
export interface Planned {
  target: Target;
  /**
   * The reasons of each group from the root down, joined by `>`: `fallback`, `loadbalance`,
   * `loadbalance:affinity`, `latency`, `latency:explore`, `cost`, `cost:unpriced`, `rule:<i>`, `default`; with
   * `:open` appended when the target's breaker is open. E.g. `rule:0>latency:explore`.
   */
  why: string;
  /** The target's breaker is open: it stands at the end of the plan and the caller may skip it. */
  skip?: true;
}

/** What a plan reads besides the route and the request; injected so that tests can fix it. */
export interface PlanDeps {
  /** Uniform in [0, 1). */
  random(): number;
  /** Recent time to first token (ms), null when unknown. */
  latencyMs(targetId: string): number | null;
  /** Input + output price in USD per million tokens, null when unpriced. */
  pricePerMTok(target: Target): number | null;
  /** Whether the target's circuit breaker is open. */
  open(targetId: string): boolean;
}

interface Step {
  target: Target;
  why: string;
}

interface Ctx {
  facts: RequestFacts;
  deps: PlanDeps;
  open(id: string): boolean;
  affinity(): string | null;
}

/**
 * The order of targets to try for one call: the route's tree, each group ordered by its strategy and spliced
 * into its parent's order (a `conditional` group contributes only the child its rules pick); targets whose
 * breaker is open move to the end, marked `skip`.
 *
 * @example planAttempts(route, facts, deps) // [{ target: route.targets[0], why: "fallback" }, …]
 */
export function planAttempts(route: Route, facts: RequestFacts, deps: PlanDeps): Planned[] {
  const opened = new Map<string, boolean>();
  let affinity: string | null | undefined;
  const ctx: Ctx = {
    facts,
    deps,
    open: (id) => {
      let o = opened.get(id);
      if (o === undefined) {
        o = deps.open(id);
        opened.set(id, o);
      }
      return o;
    },
    affinity: () => {
      if (affinity === undefined) affinity = cacheAffinity(facts.body);
      return affinity;
    },
  };
  const steps = planGroup(route.tree, ctx);
  const out: Planned[] = [];
  const held: Planned[] = [];
  for (const s of steps) {
    if (ctx.open(s.target.id)) held.push({ target: s.target, why: `${s.why}:open`, skip: true });
    else out.push(s);
  }
  return held.length > 0 ? out.concat(held) : out;
}

const isGroup = (n: TargetNode): n is TargetGroup => "children" in n;

function planGroup(g: TargetGroup, ctx: Ctx): Step[] {
  if (g.strategy === "conditional") {
    const i = matchRule(g.rules, ctx.facts);
    const use = i < 0 ? g.default : (g.rules[i]?.use ?? g.default);
    const child = g.children[use];
    return child ? expand(child, i < 0 ? "default" : `rule:${i}`, ctx) : [];
  }
  const steps: Step[] = [];
  for (const { node, why } of orderGroup(g, ctx)) steps.push(...expand(node, why, ctx));
  return steps;
}

function expand(node: TargetNode, why: string, ctx: Ctx): Step[] {
  if (!isGroup(node)) return [{ target: node, why }];
  return planGroup(node, ctx).map((s) => ({ target: s.target, why: `${why}>${s.why}` }));
}

function orderGroup(g: TargetGroup, ctx: Ctx): { node: TargetNode; why: string }[] {
  const tag = (why: string) => (node: TargetNode) => ({ node, why });
  const nodes = g.children;
  switch (g.strategy) {
    case "loadbalance": {
      if (nodes.length < 2) return nodes.map(tag("loadbalance"));
      // Load balancing keeps a conversation on the target that holds its prompt cache.
      const affinity = ctx.affinity();
      if (affinity) return rendezvousOrder(nodes, nodeName, affinity).map(tag("loadbalance:affinity"));
      return weightedOrder(nodes, ctx.deps.random).map(tag("loadbalance"));
    }
    case "latency":
      return byLatency(g, ctx);
    case "cost":
      return byCost(nodes, ctx);
    default: // fallback (a conditional group is planned by its rules, in planGroup)
      return nodes.map(tag("fallback"));
  }
}

/** A child's stable name for rendezvous hashing: a target's `provider/model` (as before groups), a group's path. */
const nodeName = (n: TargetNode) => (isGroup(n) ? `group:${n.path}` : n.id);

/** A sort comparison that keeps equal keys (infinities included) in place. */
const ascending = (a: number, b: number) => (a === b ? 0 : a < b ? -1 : 1);

function leavesOf(n: TargetNode): Target[] {
  return isGroup(n) ? n.children.flatMap(leavesOf) : [n];
}

/**
 * Fastest first: by recent time to first token, unknown counting as fastest (so a new target gets tried), ties
 * in declared order; a group counts as its fastest target whose breaker is closed. With probability `explore`
 * another child goes first, so that a recovered target is noticed.
 */
function byLatency(g: TargetGroup, ctx: Ctx): { node: TargetNode; why: string }[] {
  const scored = g.children.map((node) => {
    let best: number | null = Number.POSITIVE_INFINITY;
    for (const t of leavesOf(node)) {
      if (ctx.open(t.id)) continue;
      const ms = ctx.deps.latencyMs(t.id);
      best = ms === null || best === null ? null : Math.min(best, ms);
    }
    return { node, why: "latency", ms: best ?? Number.NEGATIVE_INFINITY };
  });
  scored.sort((a, b) => ascending(a.ms, b.ms));
  if (scored.length > 1 && g.explore > 0 && ctx.deps.random() < g.explore) {
    const others = scored.slice(1).filter((s) => s.ms !== Number.POSITIVE_INFINITY);
    const pick = others[Math.floor(ctx.deps.random() * others.length)];
    if (pick) {
      scored.splice(scored.indexOf(pick), 1);
      scored.unshift({ ...pick, why: "latency:explore" });
    }
  }
  return scored;
}

/**
 * Cheapest first (input + output price per million tokens), ties in declared order, unpriced children last; a
 * group counts as its cheapest priced target whose breaker is closed.
 */
function byCost(nodes: readonly TargetNode[], ctx: Ctx): { node: TargetNode; why: string }[] {
  const scored = nodes.map((node) => {
    let price: number | null = null;
    for (const t of leavesOf(node)) {
      if (ctx.open(t.id)) continue;
      const p = ctx.deps.pricePerMTok(t);
      if (p !== null && (price === null || p < price)) price = p;
    }
    return price === null
      ? { node, why: "cost:unpriced", price: Number.POSITIVE_INFINITY }
      : { node, why: "cost", price };
  });
  return scored.sort((a, b) => ascending(a.price, b.price));
}

/**
 * A weighted random order: each draw picks one of the remaining items with probability proportional to its
 * weight (without replacement, so the rest follow as fallbacks).
 *
 * @example weightedOrder([{ weight: 3 }, { weight: 1 }], Math.random) // the first item first 3 times in 4
 */
export function weightedOrder<T extends { weight: number }>(items: readonly T[], random: () => number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((s, t) => s + t.weight, 0);
    let r = random() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= (pool[i] as T).weight;
      if (r < 0) break;
    }
    out.push(...pool.splice(i, 1));
  }
  return out;
}

/**
 * `PlanDeps.pricePerMTok` over the config's prices and the price table (spend/pricing.ts `pricesFor`): input +
 * output USD per million tokens, at the tier a request of `inputTokens` pays.
 */
export function pricePerMTok(cfg: GatewayConfig, inputTokens = 0): (target: Target) => number | null {
  return (target) => {
    const p = pricesFor(cfg, target, inputTokens);
    // pico-USD per token × 10⁶ tokens ÷ 10¹² = USD per million tokens.
    return p ? (p.input + p.output) / 1_000_000 : null;
  };
}
