import type { AliasCacheConfig } from "../config/schema";
import { sha256Hex } from "../crypto/hash";

/**
 * Cache keys. Everything that names a tenant or a question is hashed: no prompt text, key id, team or user
 * name appears in a KV key or in vector metadata.
 *
 * - scope: whose answers a request may receive (`key:<id>`, `user:<key id>:<user>`, `team:<name>`, `global`),
 *   hashed into the partition every KV key starts with and the vector namespace (a hard partition);
 * - request hash: SHA-256 of the canonical request — the alias and every field that can change the answer
 *   (messages, tools, tool choice, response format, parameters, unknown fields too), keys sorted, so a chat
 *   and a messages request for the same question share an entry;
 * - fingerprint: the same without the last user turn, bucketed temperature: what a semantic match must equal.
 */

/** Fields that cannot change the answer: how it is delivered, and who is tracked. */
const NOT_ANSWER_CHANGING = new Set(["model", "stream", "stream_options", "user", "metadata", "store"]);

export interface Scope {
  kind: AliasCacheConfig["scope"];
  /** The scope's name, e.g. `key:key_abc` (hashed before use). */
  name: string;
}

/** The scope a call's cache entries live in: the alias's `scope`, narrowed to the key when it cannot apply. */
export function scopeOf(
  kind: AliasCacheConfig["scope"],
  who: { keyId: string; team: string | null; endUser: string | null },
): Scope {
  if (kind === "global") return { kind, name: "global" };
  if (kind === "team" && who.team) return { kind, name: `team:${who.team}` };
  // A client names its own users, so a user's partition lies inside the key's: no key reads another's.
  if (kind === "user" && who.endUser) return { kind, name: `user:${who.keyId}:${who.endUser}` };
  return { kind: "key", name: `key:${who.keyId}` };
}

/** Hex prefix of a scope's KV keys and its vector namespace. */
export async function scopeHash(name: string): Promise<string> {
  return (await sha256Hex(`scope\u0000${name}`)).slice(0, 32);
}

/** Hex of an alias (or a tag) as it appears in KV keys and metadata. */
export async function shortHash(kind: string, value: string): Promise<string> {
  return (await sha256Hex(`${kind}\u0000${value}`)).slice(0, 16);
}

/** Fields that steer a provider's prompt caching, never the answer: not part of any cache key. */
const CACHE_HINTS = new Set(["cache_control"]);

/**
 * JSON with object keys sorted at every level: one text per value, whatever order the client wrote; prompt
 * cache hints (`cache_control`) left out, so moving a marker does not split the entry.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && !CACHE_HINTS.has(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

type Json = Record<string, unknown>;

/** A message with equivalent spellings made one: string content → one text part. */
function normalMessage(m: unknown): unknown {
  if (m === null || typeof m !== "object") return m;
  const msg = m as Json;
  if (typeof msg.content === "string" && (msg.role === "user" || msg.role === "system")) {
    return { ...msg, content: [{ type: "text", text: msg.content }] };
  }
  return msg;
}

/** The answer-changing part of a canonical request, equivalent spellings made one. */
function answerFields(body: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(body)) if (!NOT_ANSWER_CHANGING.has(k)) out[k] = v;
  if (out.max_completion_tokens !== undefined && out.max_tokens === undefined) {
    out.max_tokens = out.max_completion_tokens;
    delete out.max_completion_tokens;
  }
  if (Array.isArray(out.messages)) out.messages = out.messages.map(normalMessage);
  return out;
}

/** SHA-256 of the canonical request (and of the request parts the client's format could not carry). */
export async function requestHash(op: string, alias: string, body: Json, dropped: string[]): Promise<string> {
  const canonical = canonicalJson({
    v: 1,
    op,
    alias,
    body: answerFields(body),
    dropped: [...dropped].sort(),
  });
  return sha256Hex(canonical);
}

/** The user turn a semantic match compares: the last message, when it is a user's text (no images, no tools). */
export function lastUserText(body: Json): string | null {
  const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
  const last = messages[messages.length - 1];
  if (last?.role !== "user") return null;
  if (typeof last.content === "string") return last.content;
  if (!Array.isArray(last.content)) return null;
  const parts = last.content as Json[];
  if (!parts.every((p) => p.type === "text" && typeof p.text === "string")) return null;
  return parts.map((p) => p.text).join("\n");
}

/**
 * Whether a request may use the semantic tier: one answer (`n` 1), a last turn of plain user text, at most
 * `maxTurns` user turns, and no image or tool result anywhere.
 */
export function semanticEligible(body: Json, maxTurns: number): boolean {
  if (typeof body.n === "number" && body.n > 1) return false;
  if (lastUserText(body) === null) return false;
  const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
  let turns = 0;
  for (const m of messages) {
    if (m.role === "tool") return false;
    if (m.role === "user") {
      turns++;
      if (Array.isArray(m.content) && (m.content as Json[]).some((p) => p.type !== "text")) return false;
    }
  }
  return turns <= maxTurns;
}

/** Temperature in steps of 0.25: near-equal temperatures share semantic entries, distant ones never do. */
function temperatureBucket(t: unknown): number | null {
  return typeof t === "number" ? Math.round(t * 4) / 4 : null;
}

/** Everything a semantic match must equal exactly: the request without its last turn, temperature bucketed. */
export async function fingerprint(op: string, alias: string, embedder: string, body: Json): Promise<string> {
  const fields = answerFields(body);
  const messages = Array.isArray(fields.messages) ? fields.messages : [];
  fields.messages = messages.slice(0, -1);
  fields.temperature = temperatureBucket(fields.temperature);
  return (await sha256Hex(canonicalJson({ v: 1, op, alias, embedder, fields }))).slice(0, 32);
}
