import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { experimental_readRawConfig as readRawConfig } from "wrangler";
import { WORKERS_AI_DIMENSIONS } from "../../src/cache/embedder/route";
import { INDEXED_FIELDS } from "../../src/cache/vectors/interface";

const root = join(import.meta.dirname, "../..");
const stub = join(import.meta.dirname, "stub-wrangler.mjs");

interface StubState {
  d1: { uuid: string; name: string }[];
  kv: { id: string; title: string }[];
  vectorize: { name: string; config: { dimensions: number; metric: string }; metadata: unknown[] }[];
  secrets: Record<string, Record<string, string>>;
  migrated: string[];
}

let dir: string;
let config: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-setup-"));
  config = join(dir, "wrangler.toml");
  cpSync(join(root, "wrangler.toml"), config);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `npm run setup` against the stub; the provider keys and tokens of the shell running the tests are left out. */
function setup(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(ADMIN_TOKEN|GATEWAY_CONFIG|\w+_API_KEY|STUB_WRANGLER_\w+)$/.test(k),
    ),
  );
  const r = spawnSync(
    process.execPath,
    [join(root, "scripts/setup.mjs"), "--config", config, "--yes", ...args],
    {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...clean,
        SLUICE_WRANGLER: stub,
        STUB_WRANGLER_LOG: join(dir, "wrangler.log"),
        STUB_WRANGLER_STATE: join(dir, "state.json"),
        ...env,
      },
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The command lines the stub was given, in order. */
function commands(): string[] {
  const log = join(dir, "wrangler.log");
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as string[]).join(" "));
}

function state(): StubState {
  return JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
}

const changing = (cmds: string[]) => cmds.filter((c) => / create|secret put|migrations apply/.test(c));

describe("npm run setup against a stub wrangler", () => {
  it("creates every resource on a new account and writes their ids into the config", () => {
    const before = readFileSync(config, "utf8");
    const r = setup([]);
    expect(r.status, r.stderr).toBe(0);
    expect(changing(commands())).toEqual([
      "d1 create sluice",
      "kv namespace create sluice-cache",
      "vectorize create sluice-cache --dimensions 1024 --metric cosine",
      "vectorize create-metadata-index sluice-cache --propertyName fp --type string",
      `d1 migrations apply DB --remote --config ${config} --env `,
      `secret put ADMIN_TOKEN --config ${config} --env `,
    ]);
    const s = state();
    const top = readRawConfig({ config }).rawConfig;
    expect(top.d1_databases?.[0]?.database_id).toBe(s.d1[0]?.uuid);
    expect(top.kv_namespaces?.[0]?.id).toBe(s.kv[0]?.id);
    // Only those two lines changed: comments, order and the environments' placeholders are kept.
    const a = before.split("\n");
    const b = readFileSync(config, "utf8").split("\n");
    expect(b.length).toBe(a.length);
    expect(a.filter((line, i) => line !== b[i])).toEqual([
      'database_id = "00000000-0000-0000-0000-000000000000"',
      'id = "00000000000000000000000000000000"',
    ]);
    expect(s.vectorize[0]?.metadata).toEqual([{ propertyName: "fp", indexType: "string" }]);
  });

  it("generates ADMIN_TOKEN when absent, shows it once and sets it as the secret", () => {
    const r = setup([]);
    expect(r.status, r.stderr).toBe(0);
    const token = state().secrets.sluice?.ADMIN_TOKEN ?? "";
    expect(token).toMatch(/^[\w-]{43}$/);
    expect(r.stdout.split(token).length - 1).toBe(1);
    const again = setup([]);
    expect(again.stdout).not.toContain(token);
    expect(again.stdout).toContain("ADMIN_TOKEN is set (kept)");
  });

  it("creates nothing new on a re-run and leaves the config byte for byte as it was", () => {
    expect(setup([]).status).toBe(0);
    const written = readFileSync(config);
    const first = commands().length;
    const r = setup([]);
    expect(r.status, r.stderr).toBe(0);
    const rerun = commands().slice(first);
    expect(changing(rerun).filter((c) => !c.startsWith("d1 migrations apply"))).toEqual([]);
    expect(rerun).toContain("vectorize list-metadata-index sluice-cache --json");
    expect(readFileSync(config).equals(written)).toBe(true);
    expect(r.stdout).toContain("found D1 database sluice");
    expect(r.stdout).toContain("D1 migrations: none to apply");
  });

  it("finds the D1 database that exists and creates the KV namespace that does not", () => {
    const uuid = "5b0c7a8e-2f4d-4c1e-9a3b-6d7e8f901234";
    writeFileSync(
      join(dir, "state.json"),
      JSON.stringify({ d1: [{ uuid, name: "sluice" }], kv: [], vectorize: [], secrets: {}, migrated: [] }),
    );
    const r = setup([]);
    expect(r.status, r.stderr).toBe(0);
    expect(commands()).not.toContain("d1 create sluice");
    expect(commands()).toContain("kv namespace create sluice-cache");
    const top = readRawConfig({ config }).rawConfig;
    expect(top.d1_databases?.[0]?.database_id).toBe(uuid);
    expect(top.kv_namespaces?.[0]?.id).toBe(state().kv[0]?.id);
  });

  it("stops at a create that fails, names it, exits non-zero and writes nothing; a re-run finishes the job", () => {
    const before = readFileSync(config);
    const r = setup([], { STUB_WRANGLER_FAIL: "kv namespace create" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("kv namespace create sluice-cache` failed");
    expect(r.stderr).toContain("Authentication error");
    expect(readFileSync(config).equals(before)).toBe(true);
    expect(commands().some((c) => c.startsWith("d1 migrations") || c.startsWith("secret"))).toBe(false);
    expect(state().d1).toHaveLength(1);

    const again = setup([]);
    expect(again.status, again.stderr).toBe(0);
    expect(commands().filter((c) => c === "d1 create sluice")).toHaveLength(1);
    expect(readRawConfig({ config }).rawConfig.d1_databases?.[0]?.database_id).toBe(state().d1[0]?.uuid);
  });

  it("refuses a Vectorize index whose dimensions the cache cannot use, before writing anything", () => {
    writeFileSync(
      join(dir, "state.json"),
      JSON.stringify({
        d1: [],
        kv: [],
        vectorize: [{ name: "sluice-cache", config: { dimensions: 384, metric: "cosine" }, metadata: [] }],
        secrets: {},
        migrated: [],
      }),
    );
    const before = readFileSync(config);
    const r = setup([]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("exists with 384 dimensions");
    expect(readFileSync(config).equals(before)).toBe(true);
  });

  it("--dry-run prints the exact commands, runs none of them and writes nothing", () => {
    const before = readFileSync(config);
    const r = setup(["--dry-run", "--env", "staging", "--domain", "ai.example.com"]);
    expect(r.status, r.stderr).toBe(0);
    expect(commands()).toEqual([]);
    expect(existsSync(join(dir, "state.json"))).toBe(false);
    expect(readFileSync(config).equals(before)).toBe(true);
    for (const line of [
      `$ ${stub} d1 list --json`,
      `$ ${stub} d1 create sluice-staging`,
      `$ ${stub} kv namespace list`,
      `$ ${stub} kv namespace create sluice-staging-cache`,
      `$ ${stub} vectorize create sluice-staging-cache --dimensions 1024 --metric cosine`,
      `$ ${stub} vectorize create-metadata-index sluice-staging-cache --propertyName fp --type string`,
      `$ ${stub} d1 migrations apply DB --remote --config ${config} --env staging`,
      `$ ${stub} secret put ADMIN_TOKEN --config ${config} --env staging`,
    ]) {
      expect(r.stdout).toContain(line);
    }
    expect(r.stdout).toContain("would write the custom-domain route ai.example.com");
  });

  it("--env staging fills the staging section with its own resources and leaves the top level alone", () => {
    const r = setup(["--env", "staging"]);
    expect(r.status, r.stderr).toBe(0);
    expect(changing(commands()).slice(0, 2)).toEqual([
      "d1 create sluice-staging",
      "kv namespace create sluice-staging-cache",
    ]);
    expect(commands()).toContain(`secret put ADMIN_TOKEN --config ${config} --env staging`);
    const raw = readRawConfig({ config }).rawConfig;
    const s = state();
    expect(raw.env?.staging?.d1_databases?.[0]).toMatchObject({
      database_name: "sluice-staging",
      database_id: s.d1[0]?.uuid,
    });
    expect(raw.env?.staging?.kv_namespaces?.[0]?.id).toBe(s.kv[0]?.id);
    expect(raw.env?.staging?.vectorize?.[0]?.index_name).toBe("sluice-staging-cache");
    expect(raw.d1_databases?.[0]?.database_id).toBe("00000000-0000-0000-0000-000000000000");
    expect(raw.env?.production?.d1_databases?.[0]?.database_id).toBe("00000000-0000-0000-0000-000000000000");
    expect(Object.keys(s.secrets)).toEqual(["sluice-staging"]);
  });

  it("--env adds the whole section, every binding repeated, to a config that lacks it", () => {
    const text = readFileSync(config, "utf8");
    writeFileSync(config, text.slice(0, text.indexOf('# Environment "staging"')));
    const r = setup(["--env", "production"]);
    expect(r.status, r.stderr).toBe(0);
    const prod = readRawConfig({ config }).rawConfig.env?.production;
    expect(prod?.d1_databases?.[0]?.database_id).toBe(state().d1[0]?.uuid);
    expect(prod?.durable_objects?.bindings?.map((b: { name: string }) => b.name)).toEqual([
      "SPEND",
      "LIMITS",
      "VECTORS",
      "BREAKERS",
    ]);
    expect(prod?.kv_namespaces?.[0]?.binding).toBe("CACHE");
    expect(prod?.vectorize?.[0]).toEqual({ binding: "VECTORIZE", index_name: "sluice-production-cache" });
    expect(prod?.ai).toEqual({ binding: "AI" });
    expect(readFileSync(config, "utf8")).toContain("# D1 holds Sluice keys");
  });

  it("--domain adds a custom-domain route once, at the top level or in the environment", () => {
    expect(setup(["--domain", "ai.example.com"]).status).toBe(0);
    expect(setup(["--domain", "ai.example.com"]).status).toBe(0);
    expect(setup(["--env", "staging", "--domain", "staging.ai.example.com"]).status).toBe(0);
    const raw = readRawConfig({ config }).rawConfig;
    expect(raw.routes).toEqual([{ pattern: "ai.example.com", custom_domain: true }]);
    expect(raw.env?.staging?.routes).toEqual([{ pattern: "staging.ai.example.com", custom_domain: true }]);
  });

  it("refuses the example ADMIN_TOKEN before running anything", () => {
    const example =
      /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(join(root, ".dev.vars.example"), "utf8"))?.[1] ?? "";
    expect(readFileSync(join(root, "README.md"), "utf8")).toContain(example);
    const before = readFileSync(config);
    const r = setup([], { ADMIN_TOKEN: example });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("refusing to deploy this ADMIN_TOKEN");
    expect(commands()).toEqual([]);
    expect(readFileSync(config).equals(before)).toBe(true);
  });

  it("sets ADMIN_TOKEN and provider keys from the environment, never printing them", () => {
    const env = { ADMIN_TOKEN: "a-real-token-of-enough-length-42", OPENAI_API_KEY: "sk-test-openai-key" };
    const r = setup([], env);
    expect(r.status, r.stderr).toBe(0);
    expect(state().secrets.sluice).toEqual({
      ADMIN_TOKEN: env.ADMIN_TOKEN,
      OPENAI_API_KEY: env.OPENAI_API_KEY,
    });
    expect(r.stdout + r.stderr).not.toContain(env.OPENAI_API_KEY);
    expect(r.stdout + r.stderr).not.toContain(env.ADMIN_TOKEN);
  });

  it("creates the index the cache's code expects: bge-m3's 1024 dimensions, a metadata index per filtered field", () => {
    // The commands asserted above say 1024 and fp; these are the values src/cache reads.
    expect(WORKERS_AI_DIMENSIONS["@cf/baai/bge-m3"]).toBe(1024);
    expect([...INDEXED_FIELDS]).toEqual(["fp"]);
  });
});

describe("npm run deploy", () => {
  function deploy(args: string[]) {
    return spawnSync(process.execPath, [join(root, "scripts/deploy.mjs"), "--config", config, ...args], {
      cwd: dir,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...process.env,
        SLUICE_WRANGLER: stub,
        STUB_WRANGLER_LOG: join(dir, "wrangler.log"),
        STUB_WRANGLER_STATE: join(dir, "state.json"),
      },
    });
  }

  it("refuses an environment setup has not filled yet", () => {
    const r = deploy(["--env", "staging"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("npm run setup -- --env staging");
    expect(commands()).toEqual([]);
  });

  it("--env staging applies that environment's migrations, then deploys it", () => {
    expect(setup(["--env", "staging"]).status).toBe(0);
    const before = commands().length;
    const r = deploy(["--env", "staging"]);
    expect(r.status, r.stderr).toBe(0);
    expect(commands().slice(before)).toEqual([
      `d1 migrations apply DB --remote --config ${config} --env staging`,
      `deploy --config ${config} --env staging`,
    ]);
    expect(r.stdout).toContain("Deployed sluice-staging");
  });
});
