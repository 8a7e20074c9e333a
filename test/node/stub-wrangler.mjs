#!/usr/bin/env node
// A stand-in for `wrangler` in setup's tests (SLUICE_WRANGLER points here). It appends each command line it is
// given to $STUB_WRANGLER_LOG (one JSON array a line), keeps the account's resources in $STUB_WRANGLER_STATE
// (a JSON file), and answers with wrangler 4's own output shapes: a create makes the resource, a list finds it.
// $STUB_WRANGLER_FAIL makes commands starting with those words fail like an API error (e.g. "kv namespace create").
import { randomUUID } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

const argv = process.argv.slice(2);
appendFileSync(process.env.STUB_WRANGLER_LOG, `${JSON.stringify(argv)}\n`);

const statePath = process.env.STUB_WRANGLER_STATE;
const state = existsSync(statePath)
  ? JSON.parse(readFileSync(statePath, "utf8"))
  : { d1: [], kv: [], vectorize: [], secrets: {}, migrated: [] };
const save = () => writeFileSync(statePath, JSON.stringify(state, null, 2));

const positional = [];
const flags = {};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith("--")) positional.push(a);
  else if (["--json", "--remote", "--local"].includes(a)) flags[a.slice(2)] = true;
  else flags[a.slice(2)] = argv[++i];
}
const command = positional.join(" ");

const banner = " ⛅️ wrangler 4.164.0\n───────────────────";
function fail(message, code = 1) {
  process.stderr.write(`\n✘ [ERROR] ${message}\n\n`);
  process.exit(code);
}

const failing = process.env.STUB_WRANGLER_FAIL;
if (failing && command.startsWith(failing)) {
  fail(
    `A request to the Cloudflare API (/accounts/0123/${positional[0]}) failed.\n\n  Authentication error [code: 10000]`,
  );
}

/** The Worker a command acts on: the config's top-level name, with `-<env>` for an environment. */
function workerName() {
  const text = readFileSync(flags.config ?? "wrangler.toml", "utf8");
  const name = /^name\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  return flags.env ? `${name}-${flags.env}` : name;
}

function readStdin() {
  try {
    return readFileSync(0, "utf8");
  } catch {
    return "";
  }
}

switch (positional.slice(0, 2).join(" ")) {
  case "d1 list": {
    const dbs = state.d1.map((d) => ({
      uuid: d.uuid,
      name: d.name,
      created_at: "2026-12-01T00:00:00.000Z",
      version: "production",
      num_tables: 0,
      file_size: 12288,
    }));
    console.log(JSON.stringify(dbs, null, 2));
    break;
  }
  case "d1 create": {
    const name = positional[2];
    if (state.d1.some((d) => d.name === name)) fail(`A database with that name already exists [code: 7502]`);
    const uuid = randomUUID();
    state.d1.push({ uuid, name });
    save();
    console.log(
      `${banner}\n✅ Successfully created DB '${name}' in region WEUR\nCreated your new D1 database.\n`,
    );
    console.log(
      `To access your new D1 Database in your Worker, add the following snippet to your configuration file:`,
    );
    console.log(
      `[[d1_databases]]\nbinding = "${name.replaceAll("-", "_")}"\ndatabase_name = "${name}"\ndatabase_id = "${uuid}"`,
    );
    break;
  }
  case "d1 migrations": {
    if (positional[2] !== "apply" || !flags.remote) fail(`unexpected: ${argv.join(" ")}`);
    const key = `${workerName()}:${positional[3]}`;
    if (state.migrated.includes(key)) console.log(`${banner}\n✅ No migrations to apply!`);
    else {
      state.migrated.push(key);
      save();
      console.log(
        `${banner}\nMigrations to be applied:\n┌──────────────┐\n│ name         │\n├──────────────┤\n│ 0001_init.sql│\n└──────────────┘`,
      );
      console.log(
        "┌──────────────┬────────┐\n│ name         │ status │\n├──────────────┼────────┤\n│ 0001_init.sql│ ✅     │\n└──────────────┴────────┘",
      );
    }
    break;
  }
  case "kv namespace": {
    if (positional[2] === "list") {
      const list = state.kv.map((n) => ({ id: n.id, title: n.title, supports_url_encoding: true }));
      console.log(JSON.stringify(list, null, "  "));
    } else if (positional[2] === "create") {
      const title = positional[3];
      if (state.kv.some((n) => n.title === title)) {
        fail(`A KV namespace with the title "${title}" already exists.`);
      }
      const id = randomUUID().replaceAll("-", "");
      state.kv.push({ id, title });
      save();
      console.log(
        `${banner}\nResource location: remote\n🌀 Creating namespace with title "${title}"\n✨ Success!`,
      );
      console.log(
        `To access your new KV Namespace in your Worker, add the following snippet to your configuration file:`,
      );
      console.log(`[[kv_namespaces]]\nbinding = "${title.replaceAll("-", "_")}"\nid = "${id}"`);
    } else fail(`unexpected: ${argv.join(" ")}`);
    break;
  }
  case "vectorize list": {
    const list = state.vectorize.map((i) => ({
      name: i.name,
      config: i.config,
      created_on: "2026-12-01T00:00:00Z",
      modified_on: "2026-12-01T00:00:00Z",
    }));
    console.log(JSON.stringify(list, null, 2));
    break;
  }
  case "vectorize create": {
    const name = positional[2];
    if (state.vectorize.some((i) => i.name === name)) fail(`vectorize.index.duplicate_name [code: 3002]`);
    state.vectorize.push({
      name,
      config: { dimensions: Number(flags.dimensions), metric: flags.metric },
      metadata: [],
    });
    save();
    console.log(
      `${banner}\n🚧 Creating index: '${name}'\n✅ Successfully created a new Vectorize index: '${name}'`,
    );
    break;
  }
  case "vectorize list-metadata-index": {
    const index = state.vectorize.find((i) => i.name === positional[2]);
    if (!index) fail(`vectorize.index.not_found [code: 3000]`);
    console.log(JSON.stringify(index.metadata, null, 2));
    break;
  }
  case "vectorize create-metadata-index": {
    const index = state.vectorize.find((i) => i.name === positional[2]);
    if (!index) fail(`vectorize.index.not_found [code: 3000]`);
    index.metadata.push({ propertyName: flags.propertyName, indexType: flags.type });
    save();
    console.log(
      `${banner}\n📋 Creating metadata index...\n✅ Successfully enqueued metadata index creation request. Mutation changeset identifier: ${randomUUID()}.`,
    );
    break;
  }
  case "secret list": {
    const worker = workerName();
    const secrets = state.secrets[worker];
    if (!secrets) fail(`Worker "${worker}"${flags.env ? ` (env: ${flags.env})` : ""} not found.`);
    console.log(
      JSON.stringify(
        Object.keys(secrets).map((name) => ({ name, type: "secret_text" })),
        null,
        "  ",
      ),
    );
    break;
  }
  case "secret put": {
    const worker = workerName();
    const value = readStdin().trimEnd();
    state.secrets[worker] ??= {};
    state.secrets[worker][positional[2]] = value;
    save();
    console.log(
      `${banner}\n🌀 Creating the secret for the Worker "${worker}"\n✨ Success! Uploaded secret ${positional[2]}`,
    );
    break;
  }
  case "deploy": {
    const worker = workerName();
    console.log(
      `${banner}\nTotal Upload: 1571.56 KiB / gzip: 279.15 KiB\nUploaded ${worker} (4.20 sec)\nDeployed ${worker} triggers (0.80 sec)`,
    );
    break;
  }
  default:
    fail(`Unknown arguments: ${argv.join(" ")}`);
}
