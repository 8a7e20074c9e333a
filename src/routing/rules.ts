import * as z from "zod";

/** The inbound formats a rule can name: the client's wire format (`format` in a condition). */
export const INBOUND_FORMATS = ["chat", "messages", "responses", "embeddings"] as const;
export type InboundName = (typeof INBOUND_FORMATS)[number];

/** What the gateway knows about a request before choosing its targets: what rules and affinity read. */
export interface RequestFacts {
  /** The Sluice key's id and name (null for calls made by the gateway itself, such as the cache's embedder). */
  keyId: string | null;
  keyName: string | null;
  team: string | null;
  /** The request's `x-sluice-metadata` tags. */
  metadata: Readonly<Record<string, unknown>> | null;
  /** The gateway's estimate of the input tokens. */
  inputTokens: number;
  /** The request declares tools. */
  tools: boolean;
  /** Some message part is an image. */
  images: boolean;
  format: InboundName;
  /** The canonical request body (prompt-cache affinity reads its system prefix, tools and `prompt_cache_key`). */
  body: Readonly<Record<string, unknown>>;
}

const count = z.number().int().min(0);

/**
 * When a rule applies: every field given must hold (AND); a field left out holds for every request, so `{}`
 * matches all. Lists match when any entry does (OR).
 */
export const conditionSchema = z.strictObject({
  /** Key ids (`key_…`), or globs over key names (`ci-*`; `*` matches any run of characters). */
  keys: z.array(z.string().min(1)).min(1).optional(),
  teams: z.array(z.string().min(1)).min(1).optional(),
  /** Tags the request's `x-sluice-metadata` must carry, each with exactly this string value. */
  metadata: z.record(z.string().min(1), z.string()).optional(),
  /** Bounds on the gateway's estimate of the input tokens. */
  inputTokens: z
    .strictObject({
      gt: count.optional(),
      gte: count.optional(),
      lt: count.optional(),
      lte: count.optional(),
    })
    .refine((b) => Object.keys(b).length > 0, { message: "give at least one of gt, gte, lt, lte" })
    .optional(),
  /** true: the request declares tools; false: it declares none. */
  tools: z.boolean().optional(),
  /** true: some message part is an image; false: none is. */
  images: z.boolean().optional(),
  /** The client's inbound format. */
  format: z.array(z.enum(INBOUND_FORMATS)).min(1).optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

/** One rule of a `conditional` group: the first whose `when` holds sends the call to `targets[use]`. */
export const ruleSchema = z.strictObject({
  when: conditionSchema,
  /** Index into the group's `targets`, counted from 0. */
  use: z.number().int().min(0),
});
export type Rule = z.infer<typeof ruleSchema>;

/**
 * Whether `name` matches `glob`, where `*` stands for any run of characters (none included).
 *
 * @example globMatch("ci-*", "ci-nightly") // true
 */
export function globMatch(glob: string, name: string): boolean {
  const parts = glob.split("*");
  if (parts.length === 1) return glob === name;
  const head = parts[0] as string;
  const tail = parts[parts.length - 1] as string;
  if (name.length < head.length + tail.length || !name.startsWith(head) || !name.endsWith(tail)) return false;
  let at = head.length;
  const end = name.length - tail.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const found = name.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

function keyMatches(entries: readonly string[], f: RequestFacts): boolean {
  return entries.some(
    (e) =>
      e === f.keyId || (f.keyName !== null && (e.includes("*") ? globMatch(e, f.keyName) : e === f.keyName)),
  );
}

function inRange(n: number, b: NonNullable<Condition["inputTokens"]>): boolean {
  return (
    (b.gt === undefined || n > b.gt) &&
    (b.gte === undefined || n >= b.gte) &&
    (b.lt === undefined || n < b.lt) &&
    (b.lte === undefined || n <= b.lte)
  );
}

/** Whether a request meets a condition: every field the condition gives holds for it. */
export function conditionHolds(c: Condition, f: RequestFacts): boolean {
  if (c.keys && !keyMatches(c.keys, f)) return false;
  if (c.teams && (f.team === null || !c.teams.includes(f.team))) return false;
  if (c.metadata) {
    for (const [tag, value] of Object.entries(c.metadata)) {
      if (!f.metadata || !Object.hasOwn(f.metadata, tag) || f.metadata[tag] !== value) return false;
    }
  }
  if (c.inputTokens && !inRange(f.inputTokens, c.inputTokens)) return false;
  if (c.tools !== undefined && c.tools !== f.tools) return false;
  if (c.images !== undefined && c.images !== f.images) return false;
  if (c.format && !c.format.includes(f.format)) return false;
  return true;
}

/**
 * The first rule that holds for the request, as its index in `rules`; -1 when none does (the group's default).
 *
 * @example matchRule([{ when: { tools: true }, use: 1 }], facts) // 0 when the request declares tools
 */
export function matchRule(rules: readonly Rule[], f: RequestFacts): number {
  return rules.findIndex((r) => conditionHolds(r.when, f));
}
