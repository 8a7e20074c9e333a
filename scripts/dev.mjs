// `npm run dev`: prepares local state (dev secrets, migrated local D1) and starts `wrangler dev` on 127.0.0.1:8787.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (ADMIN_TOKEN=dev-admin-token-change-me).");
}

/** Runs wrangler with the same Node that runs this script (Node 22 from node_modules/.bin). */
function wrangler(args, env = {}) {
  const r = spawnSync("wrangler", args, {
    stdio: "inherit",
    env: { WRANGLER_SEND_METRICS: "false", ...process.env, ...env },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

wrangler(["d1", "migrations", "apply", "DB", "--local"], { CI: "true" });
// Sluice reads nothing of `request.cf`: the placeholder is enough, and wrangler then does not try to fetch the real
// one from workers.cloudflare.com (a stack trace on every start when offline). Set the variable to override.
wrangler(["dev", ...process.argv.slice(2)], {
  CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
});
