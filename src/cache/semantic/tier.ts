import type { Embedder } from "../embedder/interface";
import type { VectorIndex } from "../vectors/interface";
import { normalizeQuestion } from "./normalize";

/** A stored question near the asked one: its vector id, its entry's request hash, and the similarity. */
export interface Candidate {
  id: string;
  key: string;
  score: number;
}

const TOP_K = 5;

/**
 * The semantic tier's index side: questions embedded (the normalized last user turn only) into the scope's
 * namespace, filtered by the exact fingerprint of everything else. Which candidate may answer is the cache
 * stage's decision (threshold, lexical check, entry still valid).
 */
export class SemanticTier {
  private checked: Promise<void> | undefined;

  constructor(
    readonly embedder: Embedder,
    private readonly index: VectorIndex,
  ) {}

  /** The embedder's and the index's dimensions agree (checked once); a mismatch is a config error. */
  private ready(): Promise<void> {
    this.checked ??= this.index.dimensions().then((d) => {
      if (d !== this.embedder.dimensions) {
        this.checked = undefined;
        throw new Error(
          `cache.embedder makes ${this.embedder.dimensions}-dimensional vectors but the vector index holds ${d}: set cache.embedder.dimensions (or the model) to match the index, or recreate the index with --dimensions ${this.embedder.dimensions}.`,
        );
      }
    });
    return this.checked;
  }

  async embed(question: string): Promise<number[]> {
    const [vector] = await this.embedder.embed([normalizeQuestion(question)]);
    if (!vector) throw new Error("the embedder returned no vector");
    return vector;
  }

  /** Stored questions above `threshold`, best first. */
  async candidates(q: {
    namespace: string;
    fp: string;
    vector: number[];
    threshold: number;
  }): Promise<Candidate[]> {
    await this.ready();
    const matches = await this.index.query(q.vector, {
      namespace: q.namespace,
      topK: TOP_K,
      filter: { fp: q.fp },
    });
    return matches
      .filter((m) => m.score >= q.threshold && typeof m.metadata.k === "string")
      .map((m) => ({ id: m.id, key: m.metadata.k as string, score: m.score }));
  }

  async add(v: { namespace: string; fp: string; id: string; key: string; vector: number[] }): Promise<void> {
    await this.ready();
    await this.index.upsert([
      { id: v.id, values: v.vector, namespace: v.namespace, metadata: { fp: v.fp, k: v.key } },
    ]);
  }

  remove(namespace: string, ids: string[]): Promise<void> {
    return this.index.deleteByIds(namespace, ids);
  }
}
