import { contentWords, normalizeQuestion, stem } from "../semantic/normalize";
import type { Embedder } from "./interface";

/**
 * The offline embedder (`local:v1`): deterministic, no model, microseconds per question. A bag of content words
 * (stop words out, light stemming, a small table of close synonyms made one word), each word's character
 * trigrams (typos, inflections) and its unordered neighbour pairs, feature-hashed with a sign into `dimensions`
 * and scaled to length 1. Word order barely matters, so paraphrases that reorder stay close; what a bag of words
 * cannot see (numbers, negation, order of entities) is the lexical check's job. Changing any table or weight
 * here changes the vectors: bump the id with it.
 */

/** Multi-word phrases read as one word before stop words go. */
const PHRASES: [string[], string][] = [
  [["capital", "city"], "capital"],
  [["how", "come"], "why"],
  [["how", "old"], "age"],
  [["how", "tall"], "height"],
  [["how", "far"], "distance"],
  [["time", "zone"], "timezone"],
  [["e", "mail"], "email"],
  [["log", "in"], "login"],
  [["sign", "up"], "signup"],
  [["set", "up"], "setup"],
];

/** Close synonyms, each group read as its first word. Kept to words that mean the same in any context. */
const SYNONYM_GROUPS = [
  "car automobile",
  "buy purchase",
  "start begin commence",
  "fast quick rapid speedy quickly",
  "big large huge",
  "small little tiny",
  "help assist assistance aid",
  "fix repair mend",
  "problem issue trouble",
  "delete remove erase",
  "show display",
  "find locate",
  "use utilize utilise",
  "cost price",
  "cheap inexpensive affordable",
  "movie film",
  "doctor physician",
  "child children kid kids",
  "hard difficult",
  "easy simple",
  "sick ill",
  "speak talk",
  "rich wealthy",
  "photo picture photograph pic",
  "recommend suggest",
  "improve enhance",
  "reduce decrease lessen",
  "choose select pick",
  "get obtain",
  "finish complete",
  "happy glad",
  "smart intelligent clever",
  "meaning definition define mean",
  "answer reply respond response",
  "make create",
  "phone telephone cellphone",
  "fridge refrigerator",
  "tv television",
  "color colour",
  "favorite favourite",
  "center centre",
  "organize organise",
];

const SYNONYMS = new Map<string, string>();
for (const group of SYNONYM_GROUPS) {
  const [head, ...rest] = group.split(" ");
  if (head === undefined) continue;
  for (const w of [head, ...rest]) SYNONYMS.set(stem(w), stem(head));
}

/** Weights: a word 1, its trigrams together `TRIGRAMS`, each unordered neighbour pair `PAIRS`. */
const TRIGRAMS = 1;
const PAIRS = 0.35;

/** The terms a question is embedded from, in order (exported for tests and the eval). */
export function localTerms(text: string): string[] {
  let tokens = normalizeQuestion(text).split(" ");
  for (const [phrase, one] of PHRASES) {
    const out: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      if (phrase.every((w, k) => tokens[i + k] === w)) {
        out.push(one);
        i += phrase.length - 1;
      } else out.push(tokens[i] ?? "");
    }
    tokens = out;
  }
  const words = contentWords(tokens.join(" "));
  // A question of stop words only ("how are you") is still a question: embed its words as they are.
  const terms = words.length > 0 ? words : tokens.filter((t) => t !== "");
  return terms.map((t) => SYNONYMS.get(t) ?? t);
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finalizer: spreads FNV's low bits before they pick a dimension. */
function mix(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Dimensions each feature is spread over: a collision of two features then costs a part of each, not all. */
const PROBES = 2;

/** Adds `weight` at the feature's hashed dimensions, with hashed signs (collisions cancel on average). */
function addFeature(v: Float64Array, feature: string, weight: number): void {
  let h = fnv1a(feature);
  const w = weight / Math.sqrt(PROBES);
  for (let k = 0; k < PROBES; k++) {
    h = mix(h + k);
    const i = h % v.length;
    v[i] = (v[i] ?? 0) + (h & 0x80000000 ? -w : w);
  }
}

/** One question's unit vector. */
function embedOne(text: string, dimensions: number): number[] {
  const v = new Float64Array(dimensions);
  const terms = localTerms(text);
  for (const t of terms) {
    addFeature(v, `w:${t}`, 1);
    if (t.length >= 3 && /^\p{L}+$/u.test(t)) {
      const padded = `<${t}>`;
      const n = padded.length - 2;
      for (let i = 0; i < n; i++) addFeature(v, `c:${padded.slice(i, i + 3)}`, TRIGRAMS / Math.sqrt(n));
    }
  }
  for (let i = 0; i + 1 < terms.length; i++) {
    const a = terms[i] ?? "";
    const b = terms[i + 1] ?? "";
    addFeature(v, a < b ? `p:${a}|${b}` : `p:${b}|${a}`, PAIRS);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  if (norm === 0) {
    // Only the empty question gets here: one fixed direction, so it matches itself and nothing else.
    addFeature(v, "empty", 1);
    norm = 1;
  }
  const scale = 1 / Math.sqrt(norm);
  return Array.from(v, (x) => x * scale);
}

/** The deterministic offline embedder (`local:v1`) for dev, tests and the eval; see the module comment. */
export function localEmbedder(dimensions = 384): Embedder {
  if (!Number.isInteger(dimensions) || dimensions < 8)
    throw new RangeError("dimensions must be an integer ≥ 8");
  return {
    id: "local:v1",
    dimensions,
    embed: async (texts) => texts.map((t) => embedOne(t, dimensions)),
  };
}
