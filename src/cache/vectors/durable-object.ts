import { DurableObject } from "cloudflare:workers";
import {
  assertIndexedFilter,
  type VectorIndex,
  type VectorMatch,
  type VectorMetadata,
  type VectorQuery,
  type VectorRecord,
} from "./interface";

/** How the offline index is set up; every call carries it (it comes from the gateway config). */
export interface LocalIndexOptions {
  /** The index's vector length (Vectorize's `--dimensions`, at most 1536). */
  dimensions: number;
  /** Delay before a write or delete is seen by queries (`cache.localIndexVisibilityMs`). */
  visibilityMs: number;
}

// Vectorize's limits (developers.cloudflare.com/vectorize/platform/limits), plus a local bound per namespace.
const MAX_DIMENSIONS = 1536;
const MAX_ID_BYTES = 64;
const MAX_NAMESPACE_BYTES = 64;
const MAX_METADATA_BYTES = 10 * 1024;
const MAX_BATCH = 1000;
const MAX_TOP_K = 20;
/** Queries are brute force over a namespace's rows, so a namespace is bounded (local dev scale). */
export const MAX_NAMESPACE_VECTORS = 50_000;

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).byteLength;

function checkOptions(o: LocalIndexOptions): void {
  if (!Number.isInteger(o.dimensions) || o.dimensions < 1 || o.dimensions > MAX_DIMENSIONS) {
    throw new Error(
      `local vector index: dimensions must be an integer from 1 to ${MAX_DIMENSIONS}, got ${o.dimensions}`,
    );
  }
  if (!Number.isFinite(o.visibilityMs) || o.visibilityMs < 0) {
    throw new Error(`local vector index: visibilityMs must be 0 or more, got ${o.visibilityMs}`);
  }
}

function checkNamespace(namespace: string): void {
  if (typeof namespace !== "string" || namespace === "" || bytes(namespace) > MAX_NAMESPACE_BYTES) {
    throw new Error(`vector namespace must be 1 to ${MAX_NAMESPACE_BYTES} bytes, got "${namespace}"`);
  }
}

function checkId(id: string): void {
  if (typeof id !== "string" || id === "" || bytes(id) > MAX_ID_BYTES) {
    throw new Error(`vector id must be 1 to ${MAX_ID_BYTES} bytes, got "${id}"`);
  }
}

function checkValues(values: number[], dimensions: number, what: string): void {
  if (!Array.isArray(values) || values.length !== dimensions) {
    throw new Error(
      `${what} has ${Array.isArray(values) ? values.length : "no"} dimensions but the index has ${dimensions}: dimension mismatch`,
    );
  }
  if (!values.every(Number.isFinite)) throw new Error(`${what} has a value that is not a finite number`);
}

/** Metadata as Vectorize accepts it: keys not empty, without `.` or `"`, not starting with `$`; ≤ 10 KiB as JSON. */
function metadataJson(id: string, metadata: VectorMetadata): string {
  for (const [k, v] of Object.entries(metadata)) {
    if (k === "" || k.includes(".") || k.includes('"') || k.startsWith("$")) {
      throw new Error(
        `vector "${id}": metadata key "${k}" is not allowed (empty, or has . or ", or starts with $)`,
      );
    }
    const t = typeof v;
    if (t !== "string" && t !== "number" && t !== "boolean") {
      throw new Error(`vector "${id}": metadata "${k}" must be a string, number or boolean`);
    }
  }
  const json = JSON.stringify(metadata);
  if (bytes(json) > MAX_METADATA_BYTES) {
    throw new Error(
      `vector "${id}": metadata is ${bytes(json)} bytes as JSON, over the ${MAX_METADATA_BYTES}-byte limit`,
    );
  }
  return json;
}

/** Checks one vector against Vectorize's limits; returns its metadata as JSON. */
function checkRecord(v: VectorRecord, dimensions: number): string {
  checkId(v.id);
  checkNamespace(v.namespace);
  checkValues(v.values, dimensions, `vector "${v.id}"`);
  return metadataJson(v.id, v.metadata);
}

function checkBatch(n: number, what: string): void {
  if (n > MAX_BATCH) throw new Error(`at most ${MAX_BATCH} ${what}, got ${n}`);
}

function checkQuery(vector: number[], q: VectorQuery, dimensions: number): void {
  checkValues(vector, dimensions, "the query vector");
  checkNamespace(q.namespace);
  if (!Number.isInteger(q.topK) || q.topK < 1 || q.topK > MAX_TOP_K) {
    throw new Error(
      `topK must be an integer from 1 to ${MAX_TOP_K} when metadata is returned, got ${q.topK}`,
    );
  }
  assertIndexedFilter(q.filter);
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  return Math.sqrt(s);
}

interface LiveRow extends Record<string, SqlStorageValue> {
  id: string;
  vals: ArrayBuffer;
  norm: number;
  metadata: string;
}

interface PendingRow extends Record<string, SqlStorageValue> {
  id: string;
  /** Null for a delete. */
  namespace: string | null;
  vals: ArrayBuffer | null;
  norm: number | null;
  metadata: string | null;
}

/**
 * The offline stand-in for Vectorize: a SQLite-backed Durable Object holding vectors (float32, as Vectorize stores
 * them) with their namespace and metadata. Ids are unique in the object; an upsert replaces by id, moving the vector
 * to its new namespace. Queries are exact cosine similarity, brute force over the namespace's rows.
 *
 * Like Vectorize, writes are eventually visible: each upsert and delete is queued (`pending`) with the time it becomes
 * visible, `now + visibilityMs`, but never before a write queued earlier (mutations apply in order, as Vectorize's
 * do), and is applied to the queried table (`live`) by the first call at or after that time. `publish()` applies
 * everything queued at once, so tests need not wait.
 *
 * The dimension count comes with every call; when it differs from the one the stored vectors have, the object drops
 * them (the offline equivalent of recreating the index with other `--dimensions`: old vectors cannot be queried).
 */
export class LocalVectorIndex extends DurableObject<object> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS live (
        id TEXT PRIMARY KEY, namespace TEXT NOT NULL, vals BLOB NOT NULL, norm REAL NOT NULL, metadata TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS live_namespace ON live (namespace);
      CREATE TABLE IF NOT EXISTS pending (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL, namespace TEXT, vals BLOB, norm REAL, metadata TEXT,
        visible_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS pending_id ON pending (id, seq);
    `);
  }

  /** The dimension count the stored vectors have; null before the first write. */
  async dimensions(): Promise<number | null> {
    return this.storedDimensions();
  }

  /** Inserts or replaces vectors by id; queries see them after `visibilityMs`. */
  async upsert(vectors: VectorRecord[], opts: LocalIndexOptions): Promise<void> {
    checkOptions(opts);
    checkBatch(vectors.length, "vectors per upsert");
    const rows = vectors.map((v) => {
      const metadata = checkRecord(v, opts.dimensions);
      const f32 = Float32Array.from(v.values);
      return { id: v.id, namespace: v.namespace, vals: f32.buffer, norm: norm(f32), metadata };
    });
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.prepare(opts.dimensions, now);
      const at = this.visibleAt(now, opts.visibilityMs);
      for (const r of rows) {
        this.sql.exec(
          "INSERT INTO pending (id, namespace, vals, norm, metadata, visible_at) VALUES (?, ?, ?, ?, ?, ?)",
          r.id,
          r.namespace,
          r.vals,
          r.norm,
          r.metadata,
          at,
        );
      }
      // Counted once everything queued has applied; throwing here rolls the whole upsert back.
      for (const ns of new Set(rows.map((r) => r.namespace))) {
        const n = this.eventualCount(ns);
        if (n > MAX_NAMESPACE_VECTORS) {
          throw new Error(
            `vector namespace "${ns}" would hold ${n} vectors, over the local index's limit of ${MAX_NAMESPACE_VECTORS}: upsert refused`,
          );
        }
      }
    });
  }

  /** Deletes vectors by id (in any namespace); queries stop seeing them after `visibilityMs`. */
  async deleteByIds(ids: string[], opts: LocalIndexOptions): Promise<void> {
    checkOptions(opts);
    checkBatch(ids.length, "ids per delete");
    for (const id of ids) checkId(id);
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.prepare(opts.dimensions, now);
      const at = this.visibleAt(now, opts.visibilityMs);
      for (const id of ids) this.sql.exec("INSERT INTO pending (id, visible_at) VALUES (?, ?)", id, at);
    });
  }

  /** The namespace's `topK` vectors nearest `vector` by cosine similarity whose metadata equals `filter`, best first. */
  async query(vector: number[], q: VectorQuery, opts: LocalIndexOptions): Promise<VectorMatch[]> {
    checkOptions(opts);
    checkQuery(vector, q, opts.dimensions);
    const filter = Object.entries(q.filter);
    this.ctx.storage.transactionSync(() => this.prepare(opts.dimensions, Date.now()));

    const qn = norm(vector);
    const best: VectorMatch[] = [];
    const rows = this.sql.exec<LiveRow>(
      "SELECT id, vals, norm, metadata FROM live WHERE namespace = ?",
      q.namespace,
    );
    for (const row of rows) {
      const metadata = JSON.parse(row.metadata) as VectorMetadata;
      if (!filter.every(([k, v]) => metadata[k] === v)) continue;
      const vals = new Float32Array(row.vals);
      let dot = 0;
      for (let i = 0; i < vals.length; i++) dot += (vals[i] as number) * (vector[i] as number);
      const score = qn === 0 || row.norm === 0 ? 0 : Math.max(-1, Math.min(1, dot / (qn * row.norm)));
      if (best.length === q.topK && score <= (best[best.length - 1] as VectorMatch).score) continue;
      let i = best.length;
      while (i > 0 && (best[i - 1] as VectorMatch).score < score) i--;
      best.splice(i, 0, { id: row.id, score, metadata });
      if (best.length > q.topK) best.pop();
    }
    return best;
  }

  /** Makes every queued write and delete visible now (for tests). Returns how many were applied. */
  async publish(): Promise<number> {
    return this.ctx.storage.transactionSync(() => this.apply(Number.MAX_SAFE_INTEGER));
  }

  private storedDimensions(): number | null {
    return this.sql.exec<{ v: number }>("SELECT v FROM meta WHERE k = 'dimensions'").toArray()[0]?.v ?? null;
  }

  /** Drops vectors of another dimension count, then applies the writes that are due. */
  private prepare(dimensions: number, now: number): void {
    const stored = this.storedDimensions();
    if (stored !== dimensions) {
      if (stored !== null) this.sql.exec("DELETE FROM live; DELETE FROM pending;");
      this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('dimensions', ?)", dimensions);
    }
    this.apply(now);
  }

  /** When a write queued now becomes visible: after the delay, and not before any write queued earlier. */
  private visibleAt(now: number, visibilityMs: number): number {
    const last = this.sql.exec<{ at: number | null }>("SELECT MAX(visible_at) AS at FROM pending").one().at;
    return Math.max(now + Math.ceil(visibilityMs), last ?? 0);
  }

  /** Applies the queued writes visible at `now` to `live`, in the order they were made. */
  private apply(now: number): number {
    const due = this.sql
      .exec<PendingRow>(
        "SELECT id, namespace, vals, norm, metadata FROM pending WHERE visible_at <= ? ORDER BY seq",
        now,
      )
      .toArray();
    for (const w of due) {
      if (w.namespace === null) this.sql.exec("DELETE FROM live WHERE id = ?", w.id);
      else {
        this.sql.exec(
          "INSERT OR REPLACE INTO live (id, namespace, vals, norm, metadata) VALUES (?, ?, ?, ?, ?)",
          w.id,
          w.namespace,
          w.vals,
          w.norm,
          w.metadata,
        );
      }
    }
    if (due.length > 0) this.sql.exec("DELETE FROM pending WHERE visible_at <= ?", now);
    return due.length;
  }

  /** How many vectors the namespace will hold once every queued write has applied. */
  private eventualCount(namespace: string): number {
    return this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM (
           SELECT namespace FROM live WHERE id NOT IN (SELECT id FROM pending)
           UNION ALL
           SELECT p.namespace FROM pending p WHERE p.seq = (SELECT MAX(q.seq) FROM pending q WHERE q.id = p.id)
         ) WHERE namespace = ?`,
        namespace,
      )
      .one().n;
  }
}

/** The offline index's port, plus `publish` (every queued write of a namespace visible now) for tests. */
export interface LocalVectorIndexPort extends VectorIndex {
  publish(namespace: string): Promise<void>;
}

/** The object holding a namespace's vectors. */
export const localVectorObjectName = (namespace: string) => `vectors:${namespace}`;

/**
 * The vector index port over `LocalVectorIndex` objects, one per namespace (`vectors:<namespace>`), so a query scans
 * only its namespace and namespaces spread over objects. Ids are therefore unique per namespace here, where Vectorize
 * makes them unique across the index: callers keep ids unique across namespaces (Sluice's hash the namespace in).
 */
export function localVectorIndex(
  ns: DurableObjectNamespace<LocalVectorIndex>,
  opts: LocalIndexOptions,
): LocalVectorIndexPort {
  checkOptions(opts);
  const stub = (namespace: string) => {
    checkNamespace(namespace);
    return ns.get(ns.idFromName(localVectorObjectName(namespace)));
  };
  // Requests are checked here as well as in the object, so a bad one fails in the caller without a round trip.
  // RPC promises are awaited, not handed back: a bare one that rejects is also reported as an unhandled rejection.
  return {
    dimensions: async () => opts.dimensions,
    query: async (vector, q) => {
      checkQuery(vector, q, opts.dimensions);
      return await stub(q.namespace).query(vector, q, opts);
    },
    upsert: async (vectors) => {
      checkBatch(vectors.length, "vectors per upsert");
      const byNamespace = new Map<string, VectorRecord[]>();
      for (const v of vectors) {
        checkRecord(v, opts.dimensions);
        byNamespace.set(v.namespace, [...(byNamespace.get(v.namespace) ?? []), v]);
      }
      await Promise.all([...byNamespace].map(([n, vs]) => stub(n).upsert(vs, opts)));
    },
    deleteByIds: async (namespace, ids) => {
      checkBatch(ids.length, "ids per delete");
      for (const id of ids) checkId(id);
      if (ids.length > 0) await stub(namespace).deleteByIds(ids, opts);
    },
    publish: async (namespace) => {
      await stub(namespace).publish();
    },
  };
}
