import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  type LocalVectorIndex,
  localVectorIndex,
  localVectorObjectName,
  MAX_NAMESPACE_VECTORS,
} from "../../src/cache/vectors/durable-object";
import type { VectorMetadata, VectorRecord } from "../../src/cache/vectors/interface";
import { vectorizeIndex } from "../../src/cache/vectors/vectorize";

const DIMS = 3;
/** Long enough that nothing becomes visible by itself during a test. */
const SLOW = { dimensions: DIMS, visibilityMs: 600_000 };
const INSTANT = { dimensions: DIMS, visibilityMs: 0 };

const slow = () => localVectorIndex(env.VECTORS, SLOW);
const instant = () => localVectorIndex(env.VECTORS, INSTANT);
const newNamespace = () => `t-${crypto.randomUUID()}`;
const objectOf = (namespace: string) =>
  env.VECTORS.get(env.VECTORS.idFromName(localVectorObjectName(namespace)));

const rec = (
  namespace: string,
  id: string,
  values: number[],
  metadata: VectorMetadata = { fp: "f" },
): VectorRecord => ({
  id,
  values,
  namespace,
  metadata,
});
const q = (namespace: string, topK = 5, filter: VectorMetadata = {}) => ({ namespace, topK, filter });
const ids = (ms: { id: string }[]) => ms.map((m) => m.id);

describe("the local vector index", () => {
  it("does not show a write before its delay, and shows it once published", async () => {
    const ns = newNamespace();
    const index = slow();
    await index.upsert([rec(ns, "a", [1, 0, 0])]);
    expect(await index.query([1, 0, 0], q(ns))).toEqual([]);
    await index.publish(ns);
    expect(ids(await index.query([1, 0, 0], q(ns)))).toEqual(["a"]);
  });

  it("shows a write once its delay has passed, without publish", async () => {
    const ns = newNamespace();
    const index = slow();
    await index.upsert([rec(ns, "a", [1, 0, 0])]);
    expect(await index.query([1, 0, 0], q(ns))).toEqual([]);
    // Time passes: the queued write's visibility time moves into the past.
    await runInDurableObject(objectOf(ns), async (_obj: LocalVectorIndex, state) => {
      state.storage.sql.exec("UPDATE pending SET visible_at = visible_at - ?", SLOW.visibilityMs + 1000);
    });
    expect(ids(await index.query([1, 0, 0], q(ns)))).toEqual(["a"]);
  });

  it("shows a write to the next query when the delay is 0", async () => {
    const ns = newNamespace();
    await instant().upsert([rec(ns, "a", [0, 1, 0])]);
    expect(ids(await instant().query([0, 1, 0], q(ns)))).toEqual(["a"]);
  });

  it("keeps a deleted vector queryable until the delete's delay has passed", async () => {
    const ns = newNamespace();
    const index = slow();
    await index.upsert([rec(ns, "a", [1, 0, 0]), rec(ns, "b", [0, 1, 0])]);
    await index.publish(ns);
    await index.deleteByIds(ns, ["a"]);
    expect(ids(await index.query([1, 0, 0], q(ns))).sort()).toEqual(["a", "b"]);
    await index.publish(ns);
    expect(ids(await index.query([1, 0, 0], q(ns)))).toEqual(["b"]);
  });

  it("applies writes in the order they were made, so a quick delete does not overtake a slow upsert", async () => {
    const ns = newNamespace();
    await slow().upsert([rec(ns, "a", [1, 0, 0])]);
    await instant().deleteByIds(ns, ["a"]);
    expect(await instant().query([1, 0, 0], q(ns))).toEqual([]);
    await slow().publish(ns);
    expect(await instant().query([1, 0, 0], q(ns))).toEqual([]);
  });

  it("never returns a vector of another namespace, however near", async () => {
    const ns = newNamespace();
    const other = newNamespace();
    const index = instant();
    await index.upsert([rec(other, "near", [1, 0, 0]), rec(ns, "far", [0, 0, 1])]);
    const matches = await index.query([1, 0, 0.001], q(ns));
    expect(ids(matches)).toEqual(["far"]);
    expect(ids(await index.query([1, 0, 0.001], q(other)))).toEqual(["near"]);
  });

  it("keeps namespaces apart within one object too, and an upsert moves an id to its new namespace", async () => {
    const ns = newNamespace();
    const other = newNamespace();
    const obj = objectOf(ns);
    await obj.upsert([rec(ns, "a", [1, 0, 0])], INSTANT);
    await obj.upsert([rec(other, "a", [1, 0, 0]), rec(ns, "b", [0, 1, 0])], INSTANT);
    expect(ids(await obj.query([1, 0, 0], q(ns), INSTANT))).toEqual(["b"]);
    expect(ids(await obj.query([1, 0, 0], q(other), INSTANT))).toEqual(["a"]);
  });

  it("returns only entries whose metadata equals every filter field", async () => {
    const ns = newNamespace();
    const index = instant();
    await index.upsert([
      rec(ns, "yes", [1, 0, 0], { fp: "x", k: "1" }),
      rec(ns, "no", [1, 0, 0], { fp: "y", k: "2" }),
      rec(ns, "number", [1, 0, 0], { fp: 7, k: "3" }),
      rec(ns, "none", [1, 0, 0], { k: "4" }),
    ]);
    const matches = await index.query([1, 0, 0], q(ns, 10, { fp: "x" }));
    expect(matches).toEqual([{ id: "yes", score: expect.closeTo(1, 6), metadata: { fp: "x", k: "1" } }]);
    expect(ids(await index.query([1, 0, 0], q(ns, 10, { fp: 7 })))).toEqual(["number"]);
    expect(await index.query([1, 0, 0], q(ns, 10, { fp: "7" }))).toEqual([]);
    expect(ids(await index.query([1, 0, 0], q(ns, 10))).sort()).toEqual(["no", "none", "number", "yes"]);
  });

  it("refuses a filter on a field that has no metadata index", async () => {
    const ns = newNamespace();
    await expect(instant().query([1, 0, 0], q(ns, 5, { k: "1" }))).rejects.toThrow(
      /"k".*needs a metadata index/,
    );
  });

  it("accepts topK from 1 to 20 and refuses anything else", async () => {
    const ns = newNamespace();
    const index = instant();
    await index.upsert(Array.from({ length: 25 }, (_, i) => rec(ns, `v${i}`, [1, i, 0])));
    for (const bad of [0, 21, 1.5, -1]) {
      await expect(index.query([1, 0, 0], q(ns, bad))).rejects.toThrow(/topK/);
    }
    expect(await index.query([1, 0, 0], q(ns, 20))).toHaveLength(20);
    expect(ids(await index.query([1, 0, 0], q(ns, 1)))).toEqual(["v0"]);
  });

  it("refuses a vector or a query whose length is not the index's dimensions", async () => {
    const ns = newNamespace();
    const index = instant();
    await expect(index.upsert([rec(ns, "a", [1, 0])])).rejects.toThrow(/dimension mismatch/);
    await expect(index.upsert([rec(ns, "a", [1, 0, 0, 0])])).rejects.toThrow(/dimension mismatch/);
    await expect(index.query([1, 0], q(ns))).rejects.toThrow(/dimension mismatch/);
    expect(await index.dimensions()).toBe(DIMS);
  });

  it("replaces a vector and its metadata when an id is upserted again", async () => {
    const ns = newNamespace();
    const index = instant();
    await index.upsert([rec(ns, "a", [1, 0, 0], { fp: "old" })]);
    await index.upsert([rec(ns, "a", [0, 1, 0], { fp: "new" })]);
    const matches = await index.query([0, 1, 0], q(ns));
    expect(matches).toEqual([{ id: "a", score: expect.closeTo(1, 6), metadata: { fp: "new" } }]);
  });

  it("scores by cosine similarity, best first, whatever the vectors' lengths", async () => {
    const ns = newNamespace();
    const index = instant();
    await index.upsert([
      rec(ns, "scaled", [2, 4, 6]),
      rec(ns, "diagonal", [3, 3, 0]),
      rec(ns, "orthogonal", [0, 0, 5]),
      rec(ns, "opposite", [-0.5, -1, -1.5]),
    ]);
    const matches = await index.query([1, 2, 0], q(ns, 10));
    expect(ids(matches)).toEqual(["diagonal", "scaled", "orthogonal", "opposite"]);
    const byId = Object.fromEntries(matches.map((m) => [m.id, m.score]));
    expect(byId.diagonal).toBeCloseTo(3 / Math.sqrt(10), 6);
    expect(byId.scaled).toBeCloseTo(5 / Math.sqrt(5 * 14), 6);
    expect(byId.orthogonal).toBeCloseTo(0, 6);
    const [same] = await index.query([10, 20, 30], q(ns, 1));
    expect(same?.id).toBe("scaled");
    expect(same?.score).toBeCloseTo(1, 6);
    const [, , , last] = await index.query([1, 2, 3], q(ns, 4));
    expect(last).toMatchObject({ id: "opposite", score: expect.closeTo(-1, 6) });
  });

  it("refuses ids and namespaces over 64 bytes and metadata over 10 KiB", async () => {
    const ns = newNamespace();
    const index = instant();
    await expect(index.upsert([rec(ns, "é".repeat(33), [1, 0, 0])])).rejects.toThrow(
      /id must be 1 to 64 bytes/,
    );
    await expect(index.upsert([rec(`${ns}${"x".repeat(30)}`, "a", [1, 0, 0])])).rejects.toThrow(/namespace/);
    await expect(index.upsert([rec(ns, "a", [1, 0, 0], { fp: "x".repeat(10 * 1024) })])).rejects.toThrow(
      /10240-byte limit/,
    );
    await index.upsert([rec(ns, "é".repeat(32), [1, 0, 0], { fp: "x".repeat(10 * 1024 - 20) })]);
    expect(await index.query([1, 0, 0], q(ns))).toHaveLength(1);
  });

  it(`refuses an upsert that would take a namespace past ${MAX_NAMESPACE_VECTORS} vectors, but still replaces one`, async () => {
    const ns = newNamespace();
    const index = instant();
    await index.upsert([rec(ns, "seed", [1, 0, 0])]);
    await index.publish(ns);
    // Filled to the limit directly: as many upserts would take too long.
    await runInDurableObject(objectOf(ns), async (_obj: LocalVectorIndex, state) => {
      const sql = state.storage.sql;
      state.storage.transactionSync(() => {
        for (let i = 1; i < MAX_NAMESPACE_VECTORS; i++) {
          sql.exec(
            "INSERT INTO live (id, namespace, vals, norm, metadata) SELECT ?, namespace, vals, norm, metadata FROM live WHERE id = 'seed'",
            `fill${i}`,
          );
        }
      });
      expect(sql.exec("SELECT COUNT(*) AS n FROM live WHERE namespace = ?", ns).one().n).toBe(
        MAX_NAMESPACE_VECTORS,
      );
    });
    await expect(index.upsert([rec(ns, "one-more", [0, 1, 0])])).rejects.toThrow(
      /over the local index's limit/,
    );
    await index.upsert([rec(ns, "seed", [0, 1, 0], { fp: "replaced" })]);
    const [best] = await index.query([0, 1, 0], q(ns, 1));
    expect(best).toMatchObject({ id: "seed", metadata: { fp: "replaced" } });
    expect(ids(await index.query([0, 1, 0], q(ns, 20)))).not.toContain("one-more");
  });

  it("drops its vectors when the index's dimensions change", async () => {
    const ns = newNamespace();
    await instant().upsert([rec(ns, "a", [1, 0, 0])]);
    const wider = localVectorIndex(env.VECTORS, { dimensions: 4, visibilityMs: 0 });
    expect(await wider.query([1, 0, 0, 0], q(ns))).toEqual([]);
    expect(await objectOf(ns).dimensions()).toBe(4);
  });
});

/**
 * A Vectorize (V2) binding that holds the API to its documented shape: it refuses options it does not know, a topK
 * over 20 when metadata or values are returned, a filter on a field without a metadata index, a filter value that is
 * not a primitive or `{ $eq }`, and returns metadata only at the level asked for.
 */
class StrictVectorize {
  readonly indexed = new Set(["fp"]);
  readonly vectors = new Map<string, VectorizeVector>();
  readonly calls: string[] = [];

  async describe(): Promise<VectorizeIndexInfo> {
    this.calls.push("describe");
    return {
      dimensions: DIMS,
      vectorCount: this.vectors.size,
      processedUpToDatetime: 0,
      processedUpToMutation: 0,
    };
  }

  async query(vector: number[], options: VectorizeQueryOptions): Promise<VectorizeMatches> {
    this.calls.push("query");
    const {
      topK = 5,
      namespace,
      returnValues = false,
      returnMetadata = "none",
      filter = {},
      ...rest
    } = options;
    if (Object.keys(rest).length > 0) throw new Error(`unknown query options: ${Object.keys(rest)}`);
    if (vector.length !== DIMS) throw new Error("VECTOR_QUERY_ERROR: dimension mismatch");
    if (typeof namespace !== "string") throw new Error("namespace must be a string");
    if (!["all", "indexed", "none", true, false].includes(returnMetadata))
      throw new Error("bad returnMetadata");
    const heavy = returnValues || returnMetadata === "all" || returnMetadata === true;
    if (!Number.isInteger(topK) || topK < 1 || topK > (heavy ? 20 : 100))
      throw new Error("topK out of range");
    const want: [string, unknown][] = Object.entries(filter).map(([field, cond]) => {
      if (!this.indexed.has(field)) throw new Error(`no metadata index on ${field}`);
      const value = typeof cond === "object" && cond !== null && "$eq" in cond ? cond.$eq : cond;
      if (!["string", "number", "boolean"].includes(typeof value)) throw new Error(`bad filter on ${field}`);
      return [field, value];
    });
    const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let d = 0;
      let na = 0;
      let nb = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i] as number) * (b[i] as number);
        na += (a[i] as number) ** 2;
        nb += (b[i] as number) ** 2;
      }
      return d / Math.sqrt(na * nb);
    };
    const matches = [...this.vectors.values()]
      .filter((v) => v.namespace === namespace && want.every(([f, x]) => v.metadata?.[f] === x))
      .map((v) => ({ v, score: cos(vector, v.values) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, topK)
      .map(({ v, score }) => {
        const m = v.metadata ?? {};
        const metadata =
          returnMetadata === "all" || returnMetadata === true
            ? m
            : returnMetadata === "indexed"
              ? Object.fromEntries(Object.entries(m).filter(([k]) => this.indexed.has(k)))
              : undefined;
        return { id: v.id, score, ...(metadata ? { metadata } : {}) };
      });
    return { matches, count: matches.length };
  }

  async upsert(vectors: VectorizeVector[]): Promise<VectorizeAsyncMutation> {
    this.calls.push("upsert");
    if (vectors.length === 0) throw new Error("empty upsert");
    for (const v of vectors) {
      if (typeof v.id !== "string" || v.values.length !== DIMS || typeof v.namespace !== "string") {
        throw new Error("bad vector");
      }
      this.vectors.set(v.id, v);
    }
    return { mutationId: crypto.randomUUID() };
  }

  async deleteByIds(ids: string[]): Promise<VectorizeAsyncMutation> {
    this.calls.push("deleteByIds");
    if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== "string"))
      throw new Error("bad ids");
    for (const id of ids) this.vectors.delete(id);
    return { mutationId: crypto.randomUUID() };
  }
}

describe("the Vectorize adapter", () => {
  const setup = () => {
    const fake = new StrictVectorize();
    return { fake, index: vectorizeIndex(fake as unknown as Vectorize) };
  };

  it("reads the dimensions from describe()", async () => {
    const { index } = setup();
    expect(await index.dimensions()).toBe(DIMS);
  });

  it("queries one namespace with the filter and gets all metadata back, unindexed fields included", async () => {
    const { index } = setup();
    await index.upsert([
      rec("n1", "a", [1, 0, 0], { fp: "x", k: "key-a" }),
      rec("n1", "b", [1, 0.1, 0], { fp: "y", k: "key-b" }),
      rec("n2", "c", [1, 0, 0], { fp: "x", k: "key-c" }),
    ]);
    const matches = await index.query([1, 0, 0], q("n1", 20, { fp: "x" }));
    expect(matches).toEqual([{ id: "a", score: expect.closeTo(1, 6), metadata: { fp: "x", k: "key-a" } }]);
    expect(ids(await index.query([1, 0, 0], q("n1", 5)))).toEqual(["a", "b"]);
  });

  it("refuses a filter on an unindexed field before calling Vectorize", async () => {
    const { fake, index } = setup();
    await expect(index.query([1, 0, 0], q("n1", 5, { k: "1" }))).rejects.toThrow(/needs a metadata index/);
    expect(fake.calls).toEqual([]);
  });

  it("deletes by id, and sends nothing for an empty upsert or delete", async () => {
    const { fake, index } = setup();
    await index.upsert([rec("n1", "a", [1, 0, 0]), rec("n1", "b", [0, 1, 0])]);
    await index.deleteByIds("n1", ["a"]);
    expect(ids(await index.query([1, 0, 0], q("n1")))).toEqual(["b"]);
    await index.upsert([]);
    await index.deleteByIds("n1", []);
    expect(fake.calls).toEqual(["upsert", "deleteByIds", "query"]);
  });
});
