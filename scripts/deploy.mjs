// `npm run deploy [-- --env staging|production] [wrangler deploy flags]`: applies the D1 migrations remotely, then
// deploys that environment (the top level without --env). Refuses while the config still holds placeholder ids.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ENVIRONMENTS, isPlaceholder, readSection, showCommand } from "./setup-lib.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);

/** Removes `--name value` / `--name=value` from args and returns the value. */
function takeFlag(name) {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i === -1) return undefined;
  const [flag] = args.splice(i, 1);
  return flag.includes("=") ? flag.slice(flag.indexOf("=") + 1) : args.splice(i, 1)[0];
}

const env = takeFlag("env") ?? "";
const config = takeFlag("config") ?? "wrangler.toml";
if (env !== "" && !ENVIRONMENTS.includes(env)) {
  console.error(`deploy: --env must be one of ${ENVIRONMENTS.join(", ")} (got '${env}')`);
  process.exit(1);
}
const section = readSection(readFileSync(config, "utf8"), env || undefined);
if (isPlaceholder(section.d1.id) || isPlaceholder(section.kv.id)) {
  const setup = `npm run setup${env ? ` -- --env ${env}` : ""}`;
  console.error(
    `deploy: ${config} still has placeholder D1/KV ids for ${env ? `[env.${env}]` : "the top level"}; run \`${setup}\` first.`,
  );
  process.exit(1);
}

const bin = process.env.SLUICE_WRANGLER ?? join(root, "node_modules", ".bin", "wrangler");
const childEnv = {
  ...process.env,
  PATH: `${join(root, "node_modules", ".bin")}${delimiter}${process.env.PATH ?? ""}`,
  WRANGLER_SEND_METRICS: "false",
};
const target = ["--config", config, "--env", env];
for (const [step, extra] of [
  [["d1", "migrations", "apply", "DB", "--remote", ...target], { CI: "true" }],
  [["deploy", ...target, ...args], {}],
]) {
  console.log(`$ ${showCommand(process.env.SLUICE_WRANGLER ?? "npx wrangler", step)}`);
  const r = spawnSync(bin, step, { stdio: "inherit", env: { ...childEnv, ...extra } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
