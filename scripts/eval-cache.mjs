// `npm run eval:cache`: the semantic cache eval (test/fixtures/cache-eval.json) from Node, as a markdown table of
// hit and false-hit rates per threshold. Offline with the local embedder by default; with
//   --url <OpenAI-compatible /v1/embeddings URL> --model <name> [--key <env var holding the API key>]
//   [--batch <inputs per request, default 64>] [--dimensions <sent as `dimensions`>]
// it embeds with that API instead (a deployed Sluice's /v1/embeddings routed to Workers AI, OpenAI, Ollama…).
// Other options: --fixture <path>, --local-dimensions <n> (local embedder only).
// src is TypeScript imported without extensions, so it is bundled on the fly with esbuild (wrangler's) first.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    model: { type: "string" },
    key: { type: "string" },
    batch: { type: "string", default: "64" },
    dimensions: { type: "string" },
    fixture: { type: "string", default: join(root, "test/fixtures/cache-eval.json") },
    "local-dimensions": { type: "string", default: "384" },
    help: { type: "boolean", short: "h" },
  },
});

if (opts.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\nimport")[0]);
  process.exit(0);
}
if (opts.url && !opts.model) {
  console.error("--url needs --model (the embeddings model or Sluice alias to ask for)");
  process.exit(2);
}

/** The eval's TypeScript (embedder, lexical check, rates), bundled into a temporary ES module and imported. */
async function loadEval() {
  const dir = mkdtempSync(join(tmpdir(), "sluice-eval-"));
  try {
    const outfile = join(dir, "eval.mjs");
    await build({
      stdin: {
        contents: [
          'export { localEmbedder } from "./src/cache/embedder/local";',
          'export { DEFAULT_THRESHOLD, EVAL_THRESHOLDS, evalReport, rates, scorePairs } from "./src/cache/semantic/similarity";',
        ].join("\n"),
        resolveDir: root,
        loader: "ts",
      },
      bundle: true,
      format: "esm",
      platform: "neutral",
      outfile,
      logLevel: "error",
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An embed function over an OpenAI-compatible embeddings endpoint, `batch` inputs per request. */
function remoteEmbed(url, model, keyVar, batch, dimensions) {
  const key = keyVar ? process.env[keyVar] : undefined;
  if (keyVar && !key) {
    console.error(`--key ${keyVar}: that environment variable is not set`);
    process.exit(2);
  }
  return async (texts) => {
    const out = [];
    for (let i = 0; i < texts.length; i += batch) {
      const input = texts.slice(i, i + batch);
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({
          model,
          input,
          encoding_format: "float",
          ...(dimensions ? { dimensions } : {}),
        }),
      });
      if (!res.ok) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
      const body = await res.json();
      const data = [...(body.data ?? [])].sort((a, b) => a.index - b.index);
      if (data.length !== input.length)
        throw new Error(`asked for ${input.length} embeddings, got ${data.length}`);
      for (const d of data) out.push(d.embedding);
      if (process.stderr.isTTY)
        process.stderr.write(`\rembedded ${Math.min(i + batch, texts.length)}/${texts.length}`);
    }
    if (process.stderr.isTTY) process.stderr.write("\n");
    return out;
  };
}

const ev = await loadEval();
const pairs = JSON.parse(readFileSync(opts.fixture, "utf8"));
let name;
let embed;
if (opts.url) {
  const batch = Number(opts.batch);
  const dimensions = opts.dimensions ? Number(opts.dimensions) : undefined;
  name = `${opts.model} via ${opts.url}`;
  embed = remoteEmbed(opts.url, opts.model, opts.key, batch, dimensions);
} else {
  const embedder = ev.localEmbedder(Number(opts["local-dimensions"]));
  name = `${embedder.id} (${embedder.dimensions} dimensions)`;
  embed = (texts) => embedder.embed(texts);
}

let embedMs = 0;
const scored = await ev
  .scorePairs(pairs, async (texts) => {
    const started = performance.now();
    const vectors = await embed(texts);
    embedMs += performance.now() - started;
    return vectors;
  })
  .catch((err) => {
    console.error(`eval-cache: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });

console.log(`# Semantic cache eval: ${name}\n`);
console.log(ev.evalReport(scored));
// The best threshold for this embedder: the highest hit rate with at most 1% false hits (finer grid).
const fine = Array.from({ length: 31 }, (_, i) => (70 + i) / 100);
const best = ev
  .rates(scored, fine)
  .filter((r) => r.falseHitRate <= 0.01)
  .sort((a, b) => b.hitRate - a.hitRate || a.threshold - b.threshold)[0];
console.log(
  best
    ? `\nHighest hit rate with ≤ 1% false hits: threshold ${best.threshold.toFixed(2)} (${(100 * best.hitRate).toFixed(1)}% hits, ${(100 * best.falseHitRate).toFixed(1)}% false hits). DEFAULT_THRESHOLD is ${ev.DEFAULT_THRESHOLD} (chosen for local:v1).`
    : "\nNo threshold in 0.70–1.00 keeps false hits at or under 1%.",
);
const questions = 2 * pairs.length;
console.log(
  `Embedding ${questions} questions took ${embedMs.toFixed(0)} ms (${(embedMs / questions).toFixed(3)} ms each).`,
);
