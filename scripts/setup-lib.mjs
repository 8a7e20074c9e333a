// Helpers of `npm run setup` (scripts/setup.mjs): flags, the wrangler config edited as text (comments kept),
// and wrangler's outputs read back. No side effects here; setup.mjs runs the commands and writes the file.
import { parseArgs } from "node:util";

/** The Vectorize index the semantic cache queries: Workers AI's `@cf/baai/bge-m3` (1024) and cosine scores. */
export const VECTOR_INDEX = { dimensions: 1024, metric: "cosine" };

/** Metadata fields the semantic tier filters on (src/cache/vectors/interface.ts INDEXED_FIELDS), all strings. */
export const METADATA_INDEXES = [{ property: "fp", type: "string" }];

/** Provider keys set from the environment when present, besides every `env:NAME` the gateway config names. */
export const KNOWN_PROVIDER_KEYS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"];

export const ENVIRONMENTS = ["staging", "production"];

const USAGE = `npm run setup -- [--env staging|production] [--domain ai.example.com] [--dry-run] [--yes]
                    [--config wrangler.toml] [--dimensions N]

Creates or finds the Worker's D1 database, KV namespace (CACHE) and Vectorize index with its metadata
indexes, writes their ids into the wrangler config, applies the D1 migrations remotely and sets the secrets
(ADMIN_TOKEN generated when absent; provider keys from the environment). Safe to re-run.

  --env NAME        the [env.NAME] section and its own resources, instead of the top level
  --domain HOST     adds a custom-domain route (routes = [{ pattern = HOST, custom_domain = true }])
  --dry-run         prints the wrangler commands it would run; runs and writes nothing
  --yes             never prompts (also when stdin is not a terminal, or CI is set)
  --config PATH     the wrangler config to edit (default: wrangler.toml)
  --dimensions N    the Vectorize index's vector length (default ${VECTOR_INDEX.dimensions}, or the config's embedder's)
Environment: SLUICE_WRANGLER (the wrangler executable), ADMIN_TOKEN, GATEWAY_CONFIG, provider keys.`;

/** Reads setup's flags; throws an Error whose message is meant for the user. */
export function parseFlags(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      "dry-run": { type: "boolean", default: false },
      env: { type: "string" },
      domain: { type: "string" },
      yes: { type: "boolean", short: "y", default: false },
      config: { type: "string", default: "wrangler.toml" },
      dimensions: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.env !== undefined && !ENVIRONMENTS.includes(values.env)) {
    throw new Error(`--env must be one of ${ENVIRONMENTS.join(", ")} (got '${values.env}')`);
  }
  if (values.domain !== undefined && !isHostname(values.domain)) {
    throw new Error(
      `--domain must be a host name like ai.example.com (a custom domain has no scheme, path or wildcard; got '${values.domain}')`,
    );
  }
  let dimensions;
  if (values.dimensions !== undefined) {
    dimensions = Number(values.dimensions);
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 1536) {
      throw new Error(`--dimensions must be an integer from 1 to 1536 (got '${values.dimensions}')`);
    }
  }
  return {
    dryRun: values["dry-run"],
    env: values.env,
    domain: values.domain?.toLowerCase(),
    yes: values.yes,
    config: values.config,
    dimensions,
    help: values.help,
  };
}

export { USAGE };

function isHostname(s) {
  return /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(s);
}

/** The index's vector length: the flag, else the gateway config's non-local embedder's, else VECTOR_INDEX's. */
export function vectorDimensions(flag, gatewayConfigText) {
  if (flag !== undefined) return flag;
  const embedder = parseJsonOrUndefined(gatewayConfigText)?.cache?.embedder;
  if (embedder && embedder.type !== "local" && Number.isInteger(embedder.dimensions))
    return embedder.dimensions;
  return VECTOR_INDEX.dimensions;
}

/** Every `env:NAME` a gateway config refers to (the secrets its providers read). */
export function configSecretNames(gatewayConfigText) {
  const names = new Set();
  for (const m of (gatewayConfigText ?? "").matchAll(/"env:([A-Za-z_][A-Za-z0-9_]*)"/g)) names.add(m[1]);
  return [...names];
}

function parseJsonOrUndefined(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The example ADMIN_TOKEN of .dev.vars.example (refused for a deployment). */
export function exampleAdminToken(devVarsExampleText) {
  return /^ADMIN_TOKEN=(.*)$/m.exec(devVarsExampleText)?.[1]?.trim();
}

/** Why an ADMIN_TOKEN cannot guard a deployment, or undefined when it can. */
export function adminTokenProblem(token, example) {
  if (example !== undefined && token === example) {
    return "ADMIN_TOKEN is the example token from .dev.vars.example and the README; anyone could use it. Unset ADMIN_TOKEN to have one generated, or choose another.";
  }
  if (token.length < 16) return "ADMIN_TOKEN must be at least 16 characters.";
  return undefined;
}

// ── The wrangler config as text ───────────────────────────────────────────────────────────────────────────────
// Only the shapes Sluice's wrangler.toml uses: `[table]` / `[[array.of.tables]]` headers on their own line and
// `key = "string"` lines. Edits replace or insert single lines, so every comment and blank line stays.

const HEADER = /^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(?:#.*)?$/;

/** The tables of a config, in order: `{ name, start, end }` (header line, first line of the next); root first. */
export function tables(lines) {
  const out = [{ name: "", start: -1, end: lines.length }];
  lines.forEach((line, i) => {
    const m = HEADER.exec(line);
    if (!m) return;
    out[out.length - 1].end = i;
    out.push({ name: m[2], start: i, end: lines.length });
  });
  return out;
}

function keyLine(key) {
  return new RegExp(`^\\s*${key}\\s*=\\s*(.*?)\\s*(#.*)?$`);
}

/** A key's string value in a table, or undefined. */
export function getString(lines, table, key) {
  for (let i = table.start + 1; i < table.end; i++) {
    const m = keyLine(key).exec(lines[i]);
    if (m) return /^"([^"]*)"$/.exec(m[1])?.[1];
  }
  return undefined;
}

/** The first table with that name whose `match` key (if given) has that value. */
export function findTable(lines, name, match) {
  return tables(lines).find(
    (t) => t.name === name && (!match || getString(lines, t, match.key) === match.value),
  );
}

/** Sets `key = "value"` in a table (replacing the value in place, else after its last key); returns whether it changed. */
export function setString(lines, table, key, value) {
  const text = `"${value}"`;
  for (let i = table.start + 1; i < table.end; i++) {
    const m = keyLine(key).exec(lines[i]);
    if (!m) continue;
    if (m[1] === text) return false;
    lines[i] = lines[i].replace(m[1], text);
    return true;
  }
  lines.splice(lastContentLine(lines, table) + 1, 0, `${key} = ${text}`);
  return true;
}

/** The table's last line that is neither blank nor a comment (its header when it has no keys). */
function lastContentLine(lines, table) {
  for (let i = table.end - 1; i > table.start; i--) {
    const t = lines[i].trim();
    if (t !== "" && !t.startsWith("#")) return i;
  }
  return table.start;
}

/** An all-zero id is the repo's placeholder: no resource yet. */
export function isPlaceholder(id) {
  return id === undefined || /^[0-]*$/.test(id);
}

/** `env.staging.` for an environment, `` for the top level. */
function prefix(env) {
  return env ? `env.${env}.` : "";
}

/** Names and current ids of a section's resources (top level or `[env.NAME]`), from the config text. */
export function readSection(text, env) {
  const lines = text.split("\n");
  const root = tables(lines)[0];
  const topName = getString(lines, root, "name");
  if (!topName) throw new Error("the wrangler config has no top-level name");
  const envTable = env ? findTable(lines, `env.${env}`) : undefined;
  const worker = (envTable && getString(lines, envTable, "name")) ?? (env ? `${topName}-${env}` : topName);
  const d1 = findTable(lines, `${prefix(env)}d1_databases`, { key: "binding", value: "DB" });
  const kv = findTable(lines, `${prefix(env)}kv_namespaces`, { key: "binding", value: "CACHE" });
  const vec = findTable(lines, `${prefix(env)}vectorize`, { key: "binding", value: "VECTORIZE" });
  return {
    worker,
    d1: {
      name: (d1 && getString(lines, d1, "database_name")) ?? worker,
      id: d1 && getString(lines, d1, "database_id"),
    },
    kv: { title: `${worker}-cache`, id: kv && getString(lines, kv, "id") },
    vectorize: {
      name: (vec && getString(lines, vec, "index_name")) ?? `${worker}-cache`,
      bound: vec !== undefined,
    },
  };
}

/** The Durable Object bindings of the top level, as `[name, class_name]` pairs (environments repeat them). */
function topDurableObjects(lines) {
  return tables(lines)
    .filter((t) => t.name === "durable_objects.bindings")
    .map((t) => [getString(lines, t, "name"), getString(lines, t, "class_name")]);
}

/** The blocks an environment needs, by binding, as lines (each block starts with a blank line). */
function envBlocks(env, worker, durableObjects) {
  const p = `env.${env}`;
  return [
    [
      "d1:DB",
      [
        `[[${p}.d1_databases]]`,
        `binding = "DB"`,
        `database_name = "${worker}"`,
        `database_id = "00000000-0000-0000-0000-000000000000"`,
        `migrations_dir = "migrations"`,
      ],
    ],
    ...durableObjects.map(([name, cls]) => [
      `do:${name}`,
      [`[[${p}.durable_objects.bindings]]`, `name = "${name}"`, `class_name = "${cls}"`],
    ]),
    ["kv:CACHE", [`[[${p}.kv_namespaces]]`, `binding = "CACHE"`, `id = "00000000000000000000000000000000"`]],
    [
      "vectorize:VECTORIZE",
      [`[[${p}.vectorize]]`, `binding = "VECTORIZE"`, `index_name = "${worker}-cache"`],
    ],
    ["ai", [`[${p}.ai]`, `binding = "AI"`]],
  ].map(([id, block]) => [id, ["", ...block]]);
}

function hasBlock(lines, env, id) {
  const p = `env.${env}`;
  const [kind, binding] = id.split(":");
  if (kind === "d1")
    return findTable(lines, `${p}.d1_databases`, { key: "binding", value: binding }) !== undefined;
  if (kind === "do")
    return findTable(lines, `${p}.durable_objects.bindings`, { key: "name", value: binding }) !== undefined;
  if (kind === "kv")
    return findTable(lines, `${p}.kv_namespaces`, { key: "binding", value: binding }) !== undefined;
  if (kind === "vectorize")
    return findTable(lines, `${p}.vectorize`, { key: "binding", value: binding }) !== undefined;
  return findTable(lines, `${p}.ai`) !== undefined;
}

/**
 * Adds `[env.NAME]` with every binding the Worker needs when it is missing, or the bindings a present one lacks
 * (Wrangler does not inherit bindings into environments). Returns what was added, for the report.
 */
export function ensureEnvironment(lines, env) {
  const root = tables(lines)[0];
  const worker = `${getString(lines, root, "name")}-${env}`;
  const blocks = envBlocks(env, worker, topDurableObjects(lines));
  const added = [];
  if (!findTable(lines, `env.${env}`)) {
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    lines.push(
      "",
      `# Environment "${env}", the Worker ${worker}. \`npm run setup -- --env ${env}\` creates its resources and`,
      `# writes their ids here; \`npm run deploy -- --env ${env}\` deploys it. Wrangler does not inherit bindings`,
      "# into an environment, so each lists all of its own ([[migrations]] above are inherited).",
      `[env.${env}]`,
    );
    added.push(`[env.${env}]`);
  }
  for (const [id, block] of blocks) {
    if (hasBlock(lines, env, id)) continue;
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    lines.push(...block);
    added.push(block[1]);
  }
  if (lines[lines.length - 1] !== "") lines.push("");
  return added;
}

/**
 * Adds `{ pattern = HOST, custom_domain = true }` to the section's `routes` (creating the key when absent).
 * Returns whether it changed; throws when `routes` has a shape this edit cannot extend (a multi-line array).
 */
export function ensureDomainRoute(lines, env, host) {
  const table = env ? findTable(lines, `env.${env}`) : tables(lines)[0];
  const entry = `{ pattern = "${host}", custom_domain = true }`;
  for (let i = table.start + 1; i < table.end; i++) {
    const m = keyLine("routes").exec(lines[i]);
    if (!m) continue;
    if (lines[i].includes(`"${host}"`)) return false;
    const arr = /^\[(.*)\]$/.exec(m[1]);
    if (!arr)
      throw new Error(
        `routes in ${env ? `[env.${env}]` : "the top level"} spans lines; add ${entry} to it by hand`,
      );
    const items = arr[1].trim();
    lines[i] = lines[i].replace(m[1], `[${items === "" ? entry : `${items}, ${entry}`}]`);
    return true;
  }
  lines.splice(lastContentLine(lines, table) + 1, 0, `routes = [${entry}]`);
  return true;
}

/** Writes a resource id into the section's binding table; returns whether it changed. */
export function setResourceId(lines, env, resource, id) {
  const [name, match, key] =
    resource === "d1"
      ? [`${prefix(env)}d1_databases`, { key: "binding", value: "DB" }, "database_id"]
      : [`${prefix(env)}kv_namespaces`, { key: "binding", value: "CACHE" }, "id"];
  const table = findTable(lines, name, match);
  if (!table) throw new Error(`the wrangler config has no [[${name}]] with ${match.key} = "${match.value}"`);
  return setString(lines, table, key, id);
}

// ── Wrangler's outputs ────────────────────────────────────────────────────────────────────────────────────────

/** The JSON a `--json` (or JSON-only) wrangler command printed, past any banner lines before it. */
export function jsonOutput(stdout) {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith("[") || l.startsWith("{"));
  if (start === -1) throw new Error("no JSON in its output");
  return JSON.parse(lines.slice(start).join("\n"));
}

/** The id a create command printed in its config snippet (TOML or JSON): `database_id` for D1, `id` for KV. */
export function createdId(stdout, key) {
  return new RegExp(`^\\s*"?${key}"?\\s*[=:]\\s*"([^"]+)"`, "m").exec(stdout)?.[1];
}

/** A command line for people (`bin` as it is, e.g. `npx wrangler`): arguments with spaces or quotes quoted. */
export function showCommand(bin, args) {
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`));
  return [bin, ...quoted].join(" ");
}
