// `npm run serve`: the production bundle on local workerd (no wrangler dev proxy) at 127.0.0.1:8787, with
// wrangler.toml's bindings and the same local D1 as `npm run dev`. Port: --port N or PORT.
import { copyFileSync, existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT, startGateway } from "./serve-lib.mjs";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const port = Number(values.port ?? process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid port: ${values.port ?? process.env.PORT}`);
  process.exit(2);
}

const devVars = path.join(ROOT, ".dev.vars");
if (!existsSync(devVars) && existsSync(`${devVars}.example`)) {
  copyFileSync(`${devVars}.example`, devVars);
  console.log("Created .dev.vars from .dev.vars.example.");
}

// The process environment wins over .dev.vars for these two.
const vars = Object.fromEntries(
  ["ADMIN_TOKEN", "GATEWAY_CONFIG"].filter((k) => process.env[k]).map((k) => [k, process.env[k]]),
);

const server = await startGateway({ port, vars }).catch((err) => {
  console.error(err.message);
  process.exit(1);
});
// On SIGINT/SIGTERM, Miniflare's exit hook kills workerd (as `server.stop()` does) and exits.
console.log(`Sluice (production build) listening on ${server.url} (Ctrl-C stops it)`);
