// Shared pieces of the browser tests (Node side): the production bundle served on workerd, real Chromium,
// and tiny loopback page servers. Every server listens on 127.0.0.1 and is stopped by the caller.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
// @ts-expect-error: a plain ES module script without types
import { build, startGateway } from "../../scripts/serve-lib.mjs";

export const CHROMIUM = "/usr/bin/chromium";
export const ADMIN_TOKEN = "browser-test-admin-token-0123456789";

/**
 * Whether the browser tests can run here. Without Chromium they are skipped with a message, unless
 * `SLUICE_BROWSER_TESTS=1` (set by .ci/run) demands them, in which case they fail.
 */
export const browserAvailable = existsSync(CHROMIUM) || process.env.SLUICE_BROWSER_TESTS === "1";
if (!browserAvailable) {
  console.warn(`Browser tests skipped: ${CHROMIUM} not found (apt-get install chromium to run them).`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

export interface Sluice {
  url: string;
  stop(): Promise<void>;
  /** An admin API call; throws on a non-2xx answer. */
  admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
}

/**
 * Builds the Worker as `wrangler deploy` would and serves it on workerd with a fresh, empty local state (D1
 * migrated), on a free loopback port. `vars` become Worker vars (GATEWAY_CONFIG, …).
 */
export async function startSluice(
  vars: Record<string, string> = {},
  opts: {
    seed?: (persist: string) => void;
    /** Receives every line the Worker and the runtime log (else they are dropped). */
    onLog?: (log: { level: string; message: string }) => void;
  } = {},
): Promise<Sluice> {
  const work = mkdtempSync(path.join(tmpdir(), "sluice-browser-"));
  const script = build(path.join(work, "dist"), { quiet: true });
  opts.seed?.(path.join(work, "state"));
  const server = await startGateway({
    port: 0,
    persist: path.join(work, "state"),
    script,
    quiet: true,
    onLog: opts.onLog,
    vars: { ADMIN_TOKEN, ...vars },
  });
  const url: string = server.url;
  return {
    url,
    async stop() {
      await server.stop();
      rmSync(work, { recursive: true, force: true });
    },
    async admin(method, p, body) {
      const res = await fetch(url + p, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
      return res.json();
    },
  };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** A tiny HTTP server on a free loopback port; resolves to its origin and a stop function. */
export async function serve(handler: Handler): Promise<{ origin: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` every 100 ms until it returns true, for at most `ms`; throws with `what` on timeout. */
export async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end && i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
