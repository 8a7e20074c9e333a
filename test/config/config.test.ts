import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { adminHeaders, expectError } from "../helpers/errors";
import { ADMIN_TOKEN, BASE, gateway, post } from "../helpers/gateway";

const hi = [{ role: "user", content: "hi" }];

/** Calls the Worker with a raw GATEWAY_CONFIG text (the helper only takes objects). */
async function withRawConfig(raw: string, path: string, init?: RequestInit): Promise<Response> {
  return worker.fetch(
    new Request(BASE + path, init),
    { ...env, GATEWAY_CONFIG: raw },
    createExecutionContext(),
  );
}

const VALID = {
  providers: { mock: { type: "mock", models: ["echo"] } },
  models: { smart: { targets: [{ provider: "mock", model: "echo" }] } },
};

/** Every kind of request a broken config must refuse. */
async function everyRoute(
  fetch: (path: string, init?: RequestInit) => Promise<Response>,
): Promise<Response[]> {
  const sluiceKey = `sk-sluice-${"A".repeat(40)}`;
  return [
    await fetch("/healthz"),
    await fetch("/v1/models", { headers: { authorization: `Bearer ${sluiceKey}` } }),
    await fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, sluiceKey)),
    await fetch("/admin/keys", { headers: adminHeaders(ADMIN_TOKEN) }),
    await fetch("/no-such-route"),
  ];
}

async function expectConfigInvalid(responses: Response[], ...mentions: string[]): Promise<void> {
  for (const res of responses) {
    const body = await expectError(res, 500, "config_invalid");
    expect(body.error.type).toBe("server_error");
    expect(body.error.message).toMatch(/^Invalid gateway config: /);
    for (const m of mentions) expect(body.error.message).toContain(m);
  }
}

describe("a bad GATEWAY_CONFIG fails every request with 500 config_invalid naming the field", () => {
  it("reports text that is not JSON", async () => {
    const responses = await everyRoute((p, i) => withRawConfig('{"providers": {', p, i));
    await expectConfigInvalid(responses, "GATEWAY_CONFIG is not valid JSON");
  });

  it("reports an unknown provider type at providers.<name>.type", async () => {
    const g = gateway({ providers: { ai: { type: "openia", apiKey: "x" } } });
    await expectConfigInvalid(await everyRoute(g.fetch), "providers.ai.type");
  });

  it("reports a target naming an unknown provider at models.<alias>.targets[i].provider", async () => {
    const g = gateway({
      providers: { mock: { type: "mock" } },
      models: {
        smart: {
          targets: [
            { provider: "mock", model: "echo" },
            { provider: "anthropic", model: "claude" },
          ],
        },
      },
    });
    await expectConfigInvalid(await everyRoute(g.fetch), "models.smart.targets[1].provider", "anthropic");
  });

  it("reports a target naming an inherited object property such as constructor as an unknown provider", async () => {
    const g = gateway({
      providers: { mock: { type: "mock" } },
      models: { smart: { targets: [{ provider: "constructor", model: "echo" }] } },
    });
    await expectConfigInvalid(await everyRoute(g.fetch), "models.smart.targets[0].provider", "constructor");
  });

  it("reports a typo'd field such as baseURL at its path", async () => {
    const g = gateway({ providers: { openai: { type: "openai", baseURL: "https://example.com/v1" } } });
    await expectConfigInvalid(await everyRoute(g.fetch), "providers.openai.baseURL");
  });

  it("reports a typo'd top-level section", async () => {
    const g = gateway({ providers: { mock: { type: "mock" } }, model: {} });
    await expectConfigInvalid(await everyRoute(g.fetch), "config: model: ");
  });

  it("reports an env: reference to a variable that is not set at its path and name", async () => {
    const g = gateway({ providers: { openai: { type: "openai", apiKey: "env:MISSING_VAR" } } });
    await expectConfigInvalid(await everyRoute(g.fetch), "providers.openai.apiKey", "MISSING_VAR");
  });

  it("reports an env: reference in a provider header", async () => {
    const g = gateway({
      providers: {
        or: { type: "openai-compatible", preset: "openrouter", headers: { "HTTP-Referer": "env:NOPE" } },
      },
    });
    await expectConfigInvalid(await everyRoute(g.fetch), "providers.or.headers.HTTP-Referer", "NOPE");
  });

  it("reports a baseUrl that is not an http(s) URL", async () => {
    const g = gateway({ providers: { local: { type: "openai-compatible", baseUrl: "ftp://x/v1" } } });
    await expectConfigInvalid(await everyRoute(g.fetch), "providers.local.baseUrl");
  });

  it("reports a wrong type with its path", async () => {
    const g = gateway({ providers: { mock: { type: "mock" } }, limits: { maxBodyBytes: "big" } });
    await expectConfigInvalid(await everyRoute(g.fetch), "limits.maxBodyBytes");
  });

  it("works again once the config is fixed", async () => {
    const bad = gateway({ providers: { openai: { type: "openai", apiKey: "env:MISSING_VAR" } } });
    await expectError(await bad.fetch("/healthz"), 500, "config_invalid");

    const fixedBySecret = gateway(
      { providers: { openai: { type: "openai", apiKey: "env:MISSING_VAR" } } },
      { MISSING_VAR: "sk-now-set" },
    );
    expect((await fixedBySecret.fetch("/healthz")).status).toBe(200);

    const g = gateway(VALID);
    const health = await g.fetch("/healthz");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, providers: 1, models: 1 });
    const key = await g.createKey();
    const res = await g.fetch("/v1/chat/completions", post({ model: "smart", messages: hi }, key));
    expect(res.status).toBe(200);
    await g.settle();

    // And the bad config is still refused: nothing was cached from the good one.
    await expectError(await bad.fetch("/healthz"), 500, "config_invalid");
  });

  it("reports a missing ADMIN_TOKEN binding as config_invalid naming it", async () => {
    const g = gateway(undefined, { ADMIN_TOKEN: "" });
    const body = await expectError(await g.fetch("/healthz"), 500, "config_invalid");
    expect(body.error.message).toContain("ADMIN_TOKEN");
  });

  it("uses the repo default when GATEWAY_CONFIG is blank", async () => {
    const res = await withRawConfig("   ", "/healthz");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { providers: number; models: number };
    expect(body.providers).toBeGreaterThan(0);
  });
});

describe("model resolution", () => {
  const config = {
    providers: {
      mock: { type: "mock", models: ["echo"] },
      other: { type: "mock" },
    },
    models: {
      smart: { targets: [{ provider: "other", model: "echo" }] },
      // An alias wins over a provider-listed model of the same name.
      echo: { targets: [{ provider: "other", model: "lorem" }] },
      "team/writer": { targets: [{ provider: "mock", model: "lorem" }] },
    },
  };

  async function ask(model: string) {
    const g = gateway(config);
    const key = await g.createKey();
    const res = await g.fetch("/v1/chat/completions", post({ model, messages: hi }, key));
    const text = await res.text();
    await g.settle();
    return { res, text };
  }

  it("routes an alias to its target", async () => {
    const { res, text } = await ask("smart");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("other");
    expect(res.headers.get("x-sluice-model")).toBe("echo");
    expect(text).toContain("You said: hi");
  });

  it("routes provider/model straight to that provider, whether or not the provider lists it", async () => {
    const a = await ask("mock/echo");
    expect(a.res.headers.get("x-sluice-provider")).toBe("mock");
    expect(a.res.headers.get("x-sluice-model")).toBe("echo");
    expect(a.text).toContain("You said: hi");
    const b = await ask("other/lorem");
    expect(b.res.headers.get("x-sluice-provider")).toBe("other");
    expect(b.res.headers.get("x-sluice-model")).toBe("lorem");
    expect(b.text).toContain("Sluice is a gateway");
  });

  it("prefers an alias over a provider-listed model of the same name", async () => {
    const { res, text } = await ask("echo");
    expect(res.headers.get("x-sluice-provider")).toBe("other");
    expect(res.headers.get("x-sluice-model")).toBe("lorem");
    expect(text).toContain("Sluice is a gateway");
  });

  it("prefers an alias containing a slash over provider/model", async () => {
    const { res } = await ask("team/writer");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("mock");
    expect(res.headers.get("x-sluice-model")).toBe("lorem");
  });

  it("routes a bare model name a provider lists under models", async () => {
    const g = gateway({ providers: { mock: { type: "mock", models: ["echo", "lorem"] } } });
    const key = await g.createKey();
    const res = await g.fetch("/v1/chat/completions", post({ model: "echo", messages: hi }, key));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-provider")).toBe("mock");
    expect(res.headers.get("x-sluice-model")).toBe("echo");
    await g.settle();
  });

  it("answers 404 for a bare name no provider lists, and for provider/ with no model", async () => {
    const g = gateway(config);
    const key = await g.createKey();
    for (const model of ["lorem", "mock/", "/echo", "missing/echo"]) {
      await expectError(
        await g.fetch("/v1/chat/completions", post({ model, messages: hi }, key)),
        404,
        "model_not_found",
        "model",
      );
    }
  });
});

describe("GET /v1/models", () => {
  const config = {
    providers: {
      mock: { type: "mock", models: ["echo", "lorem"] },
      other: { type: "mock", models: ["embed-small"] },
      unlisted: { type: "mock" },
    },
    models: {
      smart: { targets: [{ provider: "mock", model: "echo" }] },
      cheap: { targets: [{ provider: "unlisted", model: "x" }] },
    },
  };

  async function list(keyBody: Record<string, unknown>) {
    const g = gateway(config);
    const key = await g.createKey(keyBody);
    const res = await g.fetch("/v1/models", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      object: string;
      data: { id: string; object: string; owned_by: string }[];
    };
    expect(body.object).toBe("list");
    return body.data;
  }

  it("lists aliases and provider/model ids for an unrestricted key", async () => {
    const data = await list({ name: "all" });
    expect(data.map((m) => m.id)).toEqual(["smart", "cheap", "mock/echo", "mock/lorem", "other/embed-small"]);
    for (const m of data) expect(m.object).toBe("model");
    expect(data.find((m) => m.id === "smart")?.owned_by).toBe("sluice");
    expect(data.find((m) => m.id === "mock/lorem")?.owned_by).toBe("mock");
  });

  it("filters by the key's allowed model patterns", async () => {
    expect((await list({ name: "mock", models: ["mock/*"] })).map((m) => m.id)).toEqual([
      "mock/echo",
      "mock/lorem",
    ]);
    expect((await list({ name: "mix", models: ["smart", "*/embed-*"] })).map((m) => m.id)).toEqual([
      "smart",
      "other/embed-small",
    ]);
    expect(await list({ name: "none", models: ["nothing-matches"] })).toEqual([]);
  });

  it("needs a Sluice key", async () => {
    await expectError(await gateway(config).fetch("/v1/models"), 401, "missing_api_key");
  });
});
