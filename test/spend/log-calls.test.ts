import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loggedCalls } from "../helpers/call-log";
import { expectError } from "../helpers/errors";
import { gateway, post } from "../helpers/gateway";
import { installUpstreams, type Upstreams } from "../helpers/upstream";
import { flushSpend, newKey, rowsOf } from "./ledger-helpers";

const hi = [{ role: "user", content: "hi" }];
const configWith = (logCalls?: string) => ({
  providers: { openai: { type: "openai", apiKey: "sk-t" } },
  models: {},
  spend: { batchWindowMs: 10, ...(logCalls ? { logCalls } : {}) },
});

let net: Upstreams;
let log: ReturnType<typeof spyLog>;
const spyLog = () => vi.spyOn(console, "log");
beforeEach(() => {
  net = installUpstreams();
  log = spyLog();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The statuses of the `sluice.call` lines logged for `keyId`. */
const loggedStatuses = (keyId: string) =>
  loggedCalls(log)
    .filter((r) => r.keyId === keyId)
    .map((r) => r.status);

/** One good call and one the upstream refuses (a 400 is final: no retry), under `logCalls`; the key's id. */
async function twoCalls(logCalls?: string): Promise<string> {
  const openai = net.add("https://api.openai.com", { apiKey: "sk-t" });
  openai.reply({ content: "fine" });
  // GATEWAY_CONFIG given whole: the test helper's own default (every call logged) stays out of it.
  const g = gateway(undefined, { GATEWAY_CONFIG: JSON.stringify(configWith(logCalls)) });
  const key = await newKey(g);
  const ok = await g.fetch(
    "/v1/chat/completions",
    post({ model: "openai/gpt-4o-mini", messages: hi }, key.secret),
  );
  openai.failNext(1, { status: 400, message: "bad" });
  const bad = await g.fetch(
    "/v1/chat/completions",
    post({ model: "openai/gpt-4o-mini", messages: hi }, key.secret),
  );
  expect([ok.status, bad.status]).toEqual([200, 400]);
  await g.settle();
  await flushSpend();
  return key.id;
}

const ledgerStatuses = async (keyId: string) => (await rowsOf(keyId)).map((r) => r.status).sort();

describe("spend.logCalls: which calls get a sluice.call log line", () => {
  it("logs only failed calls by default, while the ledger has both", async () => {
    const id = await twoCalls();
    expect(loggedStatuses(id)).toEqual([400]);
    expect(await ledgerStatuses(id)).toEqual([200, 400]);
  });

  it("logs every call with 'all'", async () => {
    const id = await twoCalls("all");
    expect(loggedStatuses(id)).toEqual([200, 400]);
    expect(await ledgerStatuses(id)).toEqual([200, 400]);
  });

  it("logs none with 'none', and the ledger still has both", async () => {
    const id = await twoCalls("none");
    expect(loggedStatuses(id)).toEqual([]);
    expect(await ledgerStatuses(id)).toEqual([200, 400]);
  });

  it("refuses an unknown mode, naming the field", async () => {
    const body = await expectError(
      await gateway(configWith("verbose")).fetch("/healthz"),
      500,
      "config_invalid",
    );
    expect(body.error.message).toContain("spend.logCalls");
  });
});
