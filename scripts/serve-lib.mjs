// Serves bundled Workers on local workerd through Miniflare's API. Each Worker listens on a direct socket, so
// requests skip Miniflare's entry worker and wrangler dev's proxy, while D1 still runs on Miniflare's simulator.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

export const ROOT = path.resolve(import.meta.dirname, "..");
/** Where `wrangler dev` keeps local state (`--persist-to`); its D1 files live in `<persist>/v3/d1`. */
const DEFAULT_PERSIST = path.join(ROOT, ".wrangler/state");
const WRANGLER_BIN = path.join(
  path.dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin/wrangler.js",
);

/** Runs the project's wrangler CLI with this Node (wrangler needs Node 22); throws if it fails. */
export function wrangler(args, { quiet = false } = {}) {
  const r = spawnSync(process.execPath, [WRANGLER_BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: quiet ? "pipe" : "inherit",
    env: { WRANGLER_SEND_METRICS: "false", CI: "true", ...process.env },
  });
  if (r.status !== 0) {
    throw new Error(`wrangler ${args.join(" ")} failed${quiet ? `:\n${r.stdout}${r.stderr}` : ""}`);
  }
}

/** Bundles the Worker exactly as `wrangler deploy` would, into `outdir`; returns the bundled module's path. */
export function build(outdir = path.join(ROOT, "dist"), opts = {}) {
  // The top-level environment (wrangler.toml also defines staging and production).
  wrangler(["deploy", "--dry-run", "--outdir", outdir, "--env", ""], opts);
  const js = readdirSync(outdir).filter((f) => f.endsWith(".js"));
  if (js.length !== 1) throw new Error(`expected one .js bundle in ${outdir}, found: ${js.join(", ")}`);
  return path.join(outdir, js[0]);
}

/** Applies the D1 migrations to the local database under `persist`, as `npm run dev` does. */
export function migrate(persist = DEFAULT_PERSIST, opts = {}) {
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], opts);
}

/** Direct child processes of `pid`, from /proc. */
function childPids(pid) {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );
}

/**
 * Serves one bundled ES module Worker on workerd at http://127.0.0.1:<port> (0 picks a free port).
 * `workerOptions` are Miniflare v4-style Worker options (bindings, D1, compatibility); `persist` is a
 * wrangler-style state root (storage is in-memory without it); `quiet` drops the Worker's console output, and
 * `onLog` receives every line of it (console calls and the runtime's own errors) as `{ level, message }`.
 * Resolves to `{ url, pid, stop }`, `pid` being the workerd process. Start servers one at a time: the pid is
 * the workerd child that appeared during this call.
 */
export async function serveWorker({
  script,
  port = 0,
  workerOptions = {},
  persist,
  quiet = false,
  onLog,
  inspectorPort,
}) {
  const before = new Set(childPids(process.pid));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      // Miniflare's own entry socket stays on a free loopback port; traffic uses the direct socket below.
      host: "127.0.0.1",
      port: 0,
      cf: false, // placeholder request.cf: fetching the real one needs the internet
      log: new Log(LogLevel.WARN),
      ...(inspectorPort ? { inspectorPort } : {}), // V8's inspector, for bench/profile.mjs
      ...(onLog ? { handleStructuredLogs: onLog } : quiet ? { handleStructuredLogs: () => {} } : {}),
      ...(persist ? { resourcePersistencePath: path.join(persist, "v3") } : {}),
      ...workerOptions,
      modules: [{ type: "ESModule", path: path.resolve(script) }],
      modulesRoot: path.dirname(path.resolve(script)), // module names must not climb out of the root
      unsafeDirectSockets: [{ host: "127.0.0.1", port }],
    }),
  );
  try {
    const url = (await mf.unsafeGetDirectURL()).origin;
    const pid = childPids(process.pid).find(
      (p) => !before.has(p) && readFileSync(`/proc/${p}/comm`, "utf8").trim() === "workerd",
    );
    return { url, pid, stop: () => mf.dispose() };
  } catch (e) {
    await mf.dispose();
    throw e;
  }
}

/**
 * Miniflare Worker options for a wrangler.toml (this checkout's unless `toml` names another, e.g. the one a
 * bundle was built with), built by wrangler itself (bindings, compatibility, .dev.vars).
 */
export function wranglerWorkerOptions(toml = path.join(ROOT, "wrangler.toml")) {
  return unstable_getMiniflareWorkerOptions(toml).workerOptions;
}

/**
 * Serves Sluice with wrangler.toml's bindings and compatibility settings (vars from .dev.vars, as wrangler dev
 * reads them, overridden by `vars`), after applying D1 migrations under `persist`. Builds into dist/ unless
 * `script` names an existing bundle; `toml` is the wrangler.toml to serve it with (this checkout's by default).
 * Resolves like `serveWorker`.
 */
export async function startGateway({
  port = 8787,
  vars = {},
  persist = DEFAULT_PERSIST,
  script,
  quiet,
  onLog,
  inspectorPort,
  toml,
} = {}) {
  const root = path.resolve(persist);
  const bundle = script ?? build(undefined, { quiet });
  migrate(root, { quiet });
  const workerOptions = wranglerWorkerOptions(toml);
  return serveWorker({
    script: bundle,
    port,
    persist: root,
    quiet,
    onLog,
    inspectorPort,
    workerOptions: { ...workerOptions, bindings: { ...workerOptions.bindings, ...vars } },
  });
}
