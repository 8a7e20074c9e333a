import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";

// Proof without a Cloudflare account: the deploy bundle builds for every environment and stays within its
// size budget, and the bindings wrangler.toml gives the Worker are the ones src/env.ts reads.

/** The gzip budget of the deploy bundle (README, Deploy to your domain). It was ~279 KiB on 2026-12-02. */
const BUDGET_KIB = 350;
const ENVIRONMENTS = ["", "staging", "production"];

const root = join(import.meta.dirname, "../..");
const out = mkdtempSync(join(tmpdir(), "sluice-bundle-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs the project's wrangler (under Node 22) to completion, at most two minutes, its output captured. */
function wrangler(args: string[]) {
  const bin = join(root, "node_modules/.bin");
  const r = spawnSync(join(bin, "wrangler"), args, {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
    env: {
      ...process.env,
      PATH: `${bin}${delimiter}${process.env.PATH}`,
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
    },
  });
  expect(r.status, `wrangler ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The gzip size of the modules wrangler would upload (source maps and its README left out). */
function gzipKiB(dir: string): number {
  const files = readdirSync(dir).filter((f) => !f.endsWith(".map") && f !== "README.md");
  const bytes = files.reduce((sum, f) => sum + gzipSync(readFileSync(join(dir, f))).length, 0);
  return bytes / 1024;
}

describe("the deploy bundle", () => {
  for (const env of ENVIRONMENTS) {
    it(`builds with wrangler deploy --dry-run for ${env || "the top level"} within ${BUDGET_KIB} KiB gzip`, () => {
      const dir = join(out, env || "top");
      const stdout = wrangler([
        "deploy",
        "--dry-run",
        "--outdir",
        dir,
        "--config",
        "wrangler.toml",
        "--env",
        env,
      ]);
      expect(stdout).toContain("--dry-run: exiting now.");
      const kib = gzipKiB(dir);
      expect(kib, `bundle is ${kib.toFixed(1)} KiB gzip`).toBeGreaterThan(50);
      expect(
        kib,
        `bundle is ${kib.toFixed(1)} KiB gzip, over the ${BUDGET_KIB} KiB budget`,
      ).toBeLessThanOrEqual(BUDGET_KIB);
    }, 150_000);
  }
});

/** src/env.ts's bindings (the `z.custom<…>` keys of its schema), each with whether it is optional. */
function envTsBindings(): Map<string, { optional: boolean }> {
  const text = readFileSync(join(root, "src/env.ts"), "utf8");
  const body = text.slice(
    text.indexOf("z.looseObject({"),
    text.indexOf("\n});", text.indexOf("z.looseObject({")),
  );
  const bindings = new Map<string, { optional: boolean }>();
  for (const chunk of body.split(/\n(?= {2}[A-Z_]+: )/).slice(1)) {
    const name = /^ {2}([A-Z_]+): /.exec(chunk)?.[1];
    if (name && chunk.includes(".custom<")) bindings.set(name, { optional: chunk.includes(".optional()") });
  }
  return bindings;
}

/** The members of each env interface `wrangler types` wrote, without string variables and secrets (.dev.vars). */
function generatedBindings(dts: string): Map<string, Map<string, { optional: boolean }>> {
  const interfaces = new Map<string, Map<string, { optional: boolean }>>();
  for (const m of dts.matchAll(/interface (\w+Env|__BaseEnv_\w+) \{\n([^}]*)\}/g)) {
    const members = new Map<string, { optional: boolean }>();
    for (const line of (m[2] ?? "").split("\n")) {
      const member = /^\s+(\w+)(\??): (.+);$/.exec(line);
      if (member?.[1] && member[3] !== "string") members.set(member[1], { optional: member[2] === "?" });
    }
    if (members.size > 0) interfaces.set(m[1] ?? "", members);
  }
  return interfaces;
}

describe("the Worker's bindings", () => {
  // AI is named by the gateway config (cache.embedder.binding, a workers-ai provider's `binding`; "AI" by default)
  // and read as env[name], so src/env.ts does not declare it.
  const NAMED_BY_CONFIG = ["AI"];

  it("are the same in wrangler.toml (wrangler types, every environment) and in src/env.ts", () => {
    const path = join(out, "worker-configuration.d.ts");
    wrangler([
      "types",
      path,
      "--env-interface",
      "SluiceBindings",
      "--include-runtime=false",
      "--config",
      "wrangler.toml",
    ]);
    const generated = generatedBindings(readFileSync(path, "utf8"));
    const declared = envTsBindings();
    expect([...declared.keys()]).toContain("DB");
    expect([...generated.keys()].sort()).toEqual(["ProductionEnv", "StagingEnv", "__BaseEnv_SluiceBindings"]);

    const union = new Set([...generated.values()].flatMap((members) => [...members.keys()]));
    expect([...union].filter((b) => !NAMED_BY_CONFIG.includes(b)).sort()).toEqual(
      [...declared.keys()].sort(),
    );
    for (const [name, members] of generated) {
      const missing = [...declared].filter(
        ([b, { optional }]) => !optional && (!members.has(b) || members.get(b)?.optional),
      );
      expect(
        missing.map(([b]) => b),
        `${name} lacks required bindings`,
      ).toEqual([]);
    }
    // Deployed environments bind Vectorize and Workers AI; the top level leaves them to local stand-ins.
    for (const name of ["StagingEnv", "ProductionEnv"]) {
      expect([...(generated.get(name)?.keys() ?? [])]).toEqual(
        expect.arrayContaining(["VECTORIZE", "AI", "CACHE"]),
      );
    }
  }, 150_000);
});
