import { afterEach, describe, expect, it, vi } from "vitest";
import plainDefault from "../fixtures/claude-code/plain.default-model.json";
import plain from "../fixtures/claude-code/plain.json";
import toolLoopDefault from "../fixtures/claude-code/tool-loop.default-model.json";
import toolLoop from "../fixtures/claude-code/tool-loop.json";
import { FakeAnthropic } from "../helpers/anthropic-upstream";
import { gateway } from "../helpers/gateway";
import { installUpstreams } from "../helpers/upstream";

afterEach(() => vi.restoreAllMocks());

interface Recording {
  cli: string;
  requests: { method: string; path: string; headers: Record<string, string>; body: string }[];
}

/** Headers a client's HTTP stack sets per connection (or that carry its credential): not the request's. */
const TRANSPORT = new Set(["host", "content-length", "connection", "accept-encoding", "x-api-key"]);

describe("Claude Code's recorded requests through Sluice to an Anthropic upstream", () => {
  for (const [name, rec] of Object.entries({ plain, toolLoop, plainDefault, toolLoopDefault }) as [
    string,
    Recording,
  ][]) {
    it(`${name} (${rec.cli}): arrive byte for byte, with the same path, version and betas`, async () => {
      vi.spyOn(console, "log").mockImplementation(() => {});
      const claude = installUpstreams().mount("https://api.anthropic.com", new FakeAnthropic("sk-ant-up"));
      const models = rec.requests.map((r) => (JSON.parse(r.body) as { model: string }).model);
      const g = gateway({
        providers: { claude: { type: "anthropic", apiKey: "sk-ant-up", models: [...new Set(models)] } },
      });
      const key = await g.createKey();
      for (const r of rec.requests) {
        const headers = Object.fromEntries(Object.entries(r.headers).filter(([h]) => !TRANSPORT.has(h)));
        const res = await g.fetch(r.path, {
          method: r.method,
          headers: { ...headers, "x-api-key": key },
          body: r.body,
        });
        expect(res.status, await res.clone().text()).toBe(200);
        expect(res.headers.get("content-type")).toContain("text/event-stream");
        const events = await res.text();
        expect(events).toContain("event: message_stop");
        const up = claude.requests.at(-1);
        expect(up?.raw).toBe(r.body);
        expect(up?.path).toBe(r.path);
        expect(up?.headers["anthropic-version"]).toBe(r.headers["anthropic-version"]);
        expect(up?.headers["anthropic-beta"]).toBe(r.headers["anthropic-beta"]);
        expect(up?.headers["x-api-key"]).toBe("sk-ant-up");
      }
      await g.settle();
      expect(claude.requests).toHaveLength(rec.requests.length);
    });
  }
});
