// `npm run setup`: creates or finds the Worker's Cloudflare resources (D1, KV, Vectorize and its metadata indexes),
// writes their ids into the wrangler config, applies the D1 migrations remotely and sets the secrets. Re-running
// creates nothing new and leaves the config as it is. `--dry-run` prints the wrangler commands instead.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  adminTokenProblem,
  configSecretNames,
  createdId,
  ensureDomainRoute,
  ensureEnvironment,
  exampleAdminToken,
  jsonOutput,
  KNOWN_PROVIDER_KEYS,
  METADATA_INDEXES,
  parseFlags,
  readSection,
  setResourceId,
  showCommand,
  USAGE,
  VECTOR_INDEX,
  vectorDimensions,
} from "./setup-lib.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Runs wrangler (SLUICE_WRANGLER, else the project's own under Node 22) with its output captured, printing each
 * command first. In a dry run it prints and runs nothing: every query answers "nothing exists yet".
 */
function wranglerRunner(dryRun) {
  const bin = process.env.SLUICE_WRANGLER ?? join(root, "node_modules", ".bin", "wrangler");
  const shown = process.env.SLUICE_WRANGLER ?? "npx wrangler";
  const env = {
    ...process.env,
    PATH: `${join(root, "node_modules", ".bin")}${delimiter}${process.env.PATH ?? ""}`,
    WRANGLER_SEND_METRICS: "false",
    // Wrangler never prompts: setup asks its own questions, and migrations apply without a confirmation.
    CI: "true",
  };
  /** stdout of a successful command; undefined in a dry run. `allowFailure` returns the result instead of throwing. */
  function run(args, { input, why, allowFailure = false } = {}) {
    console.log(`  $ ${showCommand(shown, args)}${dryRun && why ? `   # ${why}` : ""}`);
    if (dryRun) return undefined;
    const r = spawnSync(bin, args, {
      input: input ?? "",
      encoding: "utf8",
      env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 10 * 60_000,
    });
    if (r.error) throw new Error(`could not run ${shown}: ${r.error.message}`);
    if (r.status === 0) return r.stdout;
    if (allowFailure) return { failed: true, output: `${r.stdout}\n${r.stderr}` };
    const output = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-15).join("\n");
    const hint = /login|CLOUDFLARE_API_TOKEN|auth/i.test(output)
      ? "\n(Not logged in? Run `npx wrangler login` first.)"
      : "";
    throw new Error(`\`${showCommand(shown, args)}\` failed (exit ${r.status}):\n${output}${hint}`);
  }
  /** The parsed JSON of a listing command ([] in a dry run). */
  function json(args, opts) {
    const out = run(args, opts);
    if (out === undefined) return [];
    try {
      return jsonOutput(out);
    } catch (e) {
      throw new Error(`\`${showCommand(shown, args)}\` printed no JSON we could read (${e.message})`);
    }
  }
  return { run, json, shown };
}

/** Reads a line from the terminal without echoing it. */
function readHidden(question) {
  return new Promise((done) => {
    process.stdout.write(question);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    stdin.resume();
    let value = "";
    const onData = (chunk) => {
      for (const ch of chunk) {
        if (ch === "\u0003") {
          stdin.setRawMode(false);
          process.exit(130);
        }
        if (ch === "\r" || ch === "\n") {
          stdin.off("data", onData);
          stdin.setRawMode(false);
          stdin.pause();
          process.stdout.write("\n");
          done(value.trim());
          return;
        }
        value = ch === "\u007f" || ch === "\b" ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on("data", onData);
  });
}

/**
 * Finds a resource by name in a listing, else creates it; returns its id (undefined in a dry run). `fields`: the
 * listing's name and id fields, and the key of the id in the config snippet the create command prints.
 */
function findOrCreate(w, done, { what, name, list, create, fields }) {
  const lookUp = () => w.json(list).find((r) => r[fields.name] === name)?.[fields.id];
  const found = lookUp();
  if (found) {
    done.push(`found ${what} ${name} (${found})`);
    return found;
  }
  const out = w.run(create, { why: `when no ${what} is named ${name}` });
  if (out === undefined) return undefined;
  const id = createdId(out, fields.created) ?? lookUp();
  if (!id) throw new Error(`created ${what} ${name} but could not read its id`);
  done.push(`created ${what} ${name} (${id})`);
  return id;
}

async function main() {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const interactive = !flags.yes && !flags.dryRun && process.stdin.isTTY === true && !process.env.CI;

  // Refusals first: nothing has run yet.
  const example = exampleAdminToken(readFileSync(join(root, ".dev.vars.example"), "utf8"));
  const givenToken = process.env.ADMIN_TOKEN;
  if (givenToken !== undefined) {
    const problem = adminTokenProblem(givenToken, example);
    if (problem) throw new Error(`refusing to deploy this ADMIN_TOKEN: ${problem}`);
  }
  const gatewayConfig = process.env.GATEWAY_CONFIG;
  if (gatewayConfig !== undefined) {
    try {
      JSON.parse(gatewayConfig);
    } catch (e) {
      throw new Error(`GATEWAY_CONFIG is not JSON (${e.message})`);
    }
  }

  const configPath = resolve(flags.config);
  const original = readFileSync(configPath, "utf8");
  const lines = original.split("\n");
  const done = [];
  const left = [];
  if (flags.env)
    for (const added of ensureEnvironment(lines, flags.env)) done.push(`added ${added} to ${flags.config}`);
  const section = readSection(lines.join("\n"), flags.env);
  const where = flags.env ? `[env.${flags.env}]` : "the top level";
  const w = wranglerRunner(flags.dryRun);
  const workerArgs = ["--config", flags.config, "--env", flags.env ?? ""];
  console.log(
    flags.dryRun
      ? `Dry run for the Worker ${section.worker} (${where} of ${flags.config}): the commands setup runs on a new account. Nothing runs, nothing is written.`
      : `Setting up the Worker ${section.worker} (${where} of ${flags.config}).`,
  );

  // Resources: find by name, else create. The config is written once, after all of them exist.
  console.log("\nD1 database");
  const dbId = findOrCreate(w, done, {
    what: "D1 database",
    name: section.d1.name,
    list: ["d1", "list", "--json"],
    create: ["d1", "create", section.d1.name],
    fields: { name: "name", id: "uuid", created: "database_id" },
  });

  console.log("\nKV namespace (CACHE)");
  const kvId = findOrCreate(w, done, {
    what: "KV namespace",
    name: section.kv.title,
    list: ["kv", "namespace", "list"],
    create: ["kv", "namespace", "create", section.kv.title],
    fields: { name: "title", id: "id", created: "id" },
  });

  console.log("\nVectorize index and its metadata indexes");
  const dimensions = vectorDimensions(flags.dimensions, gatewayConfig);
  const indexName = section.vectorize.name;
  const index = w.json(["vectorize", "list", "--json"]).find((i) => i.name === indexName);
  if (index) {
    const { dimensions: dims, metric } = index.config ?? {};
    if (dims !== dimensions || metric !== VECTOR_INDEX.metric) {
      throw new Error(
        `Vectorize index ${indexName} exists with ${dims} dimensions and metric ${metric}; the cache needs ${dimensions} and ${VECTOR_INDEX.metric}. Delete it (npx wrangler vectorize delete ${indexName}) or pass --dimensions ${dims}.`,
      );
    }
    done.push(`found Vectorize index ${indexName} (${dims} dimensions, ${metric})`);
  } else {
    const out = w.run(
      ["vectorize", "create", indexName, "--dimensions", String(dimensions), "--metric", VECTOR_INDEX.metric],
      { why: `when no index is named ${indexName}` },
    );
    if (out !== undefined)
      done.push(`created Vectorize index ${indexName} (${dimensions} dimensions, cosine)`);
  }
  const metadata = index ? w.json(["vectorize", "list-metadata-index", indexName, "--json"]) : [];
  for (const { property, type } of METADATA_INDEXES) {
    const found = metadata.find((m) => m.propertyName === property);
    if (found && found.indexType === type) continue;
    if (found) {
      throw new Error(
        `Vectorize index ${indexName} indexes ${property} as ${found.indexType}; the cache needs ${type}.`,
      );
    }
    const out = w.run(
      ["vectorize", "create-metadata-index", indexName, "--propertyName", property, "--type", type],
      {
        why: `when ${indexName} has no metadata index on ${property}`,
      },
    );
    if (out !== undefined) done.push(`created metadata index ${property} (${type}) on ${indexName}`);
  }

  // The config: ids, the route; written whole (or not at all), so a failure above leaves it untouched.
  const changed = [];
  if (dbId && setResourceId(lines, flags.env, "d1", dbId)) changed.push("the D1 database_id");
  if (kvId && setResourceId(lines, flags.env, "kv", kvId)) changed.push("the KV namespace id");
  if (flags.domain && ensureDomainRoute(lines, flags.env, flags.domain)) {
    changed.push(`the custom-domain route ${flags.domain}`);
  }
  const text = lines.join("\n");
  console.log(`\nThe config (${flags.config})`);
  if (flags.dryRun) {
    const edits = [
      ...done.filter((d) => d.startsWith("added")),
      `the new D1 database_id and KV id into ${where}`,
    ];
    if (flags.domain) edits.push(`the custom-domain route ${flags.domain}`);
    for (const e of edits) console.log(`  would write ${e.replace(/^added /, "")}`);
  } else if (text !== original) {
    const tmp = `${configPath}.setup-${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, configPath);
    done.push(
      `wrote ${[...(flags.env ? [`[env.${flags.env}]`] : []), ...changed].join(", ")} into ${flags.config}`,
    );
    console.log(`  wrote ${changed.join(", ") || `[env.${flags.env}]`}`);
  } else {
    console.log("  already up to date");
  }

  console.log("\nD1 migrations (remote)");
  const migrated = w.run(["d1", "migrations", "apply", "DB", "--remote", ...workerArgs]);
  if (migrated !== undefined) {
    const summary = migrated.includes("No migrations to apply")
      ? "D1 migrations: none to apply"
      : "applied the D1 migrations";
    done.push(summary);
  }

  console.log("\nSecrets");
  const listed = w.run(["secret", "list", ...workerArgs, "--format", "json"], { allowFailure: true });
  let existing = [];
  if (typeof listed === "string") existing = jsonOutput(listed).map((s) => s.name);
  else if (listed && !/not found/i.test(listed.output)) {
    throw new Error(
      `could not list the Worker's secrets:\n${listed.output.trim().split("\n").slice(-10).join("\n")}`,
    );
  }
  const put = (name, value, why) => {
    w.run(["secret", "put", name, ...workerArgs], { input: value, why });
  };
  let shownToken;
  if (existing.includes("ADMIN_TOKEN")) done.push("ADMIN_TOKEN is set (kept)");
  else {
    const token = givenToken ?? randomBytes(32).toString("base64url");
    put("ADMIN_TOKEN", token, givenToken ? "from $ADMIN_TOKEN" : "a new random token, shown once");
    if (!flags.dryRun) {
      done.push(`set ADMIN_TOKEN${givenToken ? " from the environment" : " (generated)"}`);
      if (!givenToken) shownToken = token;
    }
  }
  if (gatewayConfig !== undefined && !existing.includes("GATEWAY_CONFIG")) {
    put("GATEWAY_CONFIG", gatewayConfig, "from $GATEWAY_CONFIG");
    if (!flags.dryRun) done.push("set GATEWAY_CONFIG from the environment");
  }
  const needed = configSecretNames(
    gatewayConfig ?? readFileSync(join(root, "src/config/default.json"), "utf8"),
  );
  for (const name of [...new Set([...needed, ...KNOWN_PROVIDER_KEYS])]) {
    if (existing.includes(name)) {
      done.push(`${name} is set (kept)`);
      continue;
    }
    let value = process.env[name];
    if (!value && interactive && needed.includes(name)) {
      value = await readHidden(`${name} (your config reads it; input hidden, Enter to skip): `);
    }
    if (value) {
      put(name, value, `from $${name}`);
      if (!flags.dryRun) done.push(`set ${name}`);
    } else if (needed.includes(name))
      left.push(
        `${showCommand(w.shown, ["secret", "put", name, ...workerArgs])}   # your config reads env:${name}`,
      );
  }

  // What is left.
  if (gatewayConfig === undefined && !existing.includes("GATEWAY_CONFIG")) {
    left.push(
      `${showCommand(w.shown, ["secret", "put", "GATEWAY_CONFIG", ...workerArgs])} < config.json   # else the default config (mock providers only) is deployed`,
    );
  }
  if (!section.vectorize.bound) {
    left.push(
      `to use Vectorize instead of the offline index, uncomment [[vectorize]] (index_name = "${indexName}") and [ai] in ${flags.config} (local dev then reaches Cloudflare for both), or deploy an environment (--env production)`,
    );
  }
  left.push(
    `the semantic tier needs an embedder of ${dimensions} dimensions: "cache": { "embedder": { "type": "workers-ai" } } (@cf/baai/bge-m3) in GATEWAY_CONFIG`,
  );
  if (flags.domain) {
    left.push(
      `${flags.domain} must be in a zone of your Cloudflare account; the first deploy creates its DNS record and certificate`,
    );
  }
  left.push(`npm run deploy${flags.env ? ` -- --env ${flags.env}` : ""}`);

  if (flags.dryRun) {
    console.log("\nThen:");
    for (const l of left) console.log(`  • ${l}`);
    console.log("\nDry run: nothing was run or written.");
    return;
  }
  console.log("\nDone:");
  for (const d of done) console.log(`  ✔ ${d}`);
  if (shownToken) {
    console.log(`\nADMIN_TOKEN (shown once; keep it in your password manager):\n  ${shownToken}`);
  }
  console.log("\nLeft to do:");
  for (const l of left) console.log(`  • ${l}`);
}

main().catch((e) => {
  console.error(`\nsetup failed: ${e.message}`);
  console.error(
    "The config is written only once every resource exists; re-running setup finds what exists and does the rest.",
  );
  process.exit(1);
});
