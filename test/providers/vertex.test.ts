import { SignJWT } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { vertexAnthropicEndpoint } from "../../src/providers/vertex";
import { expectError } from "../helpers/errors";
import { gateway, post } from "../helpers/gateway";
import { chunksOf, installUpstreams, readSse } from "../helpers/upstream";
import {
  GoogleTokenFake,
  SCOPE,
  serviceAccountJson,
  serviceAccountKeys,
  TOKEN_ORIGIN,
  TOKEN_URL,
  VertexFake,
} from "../helpers/vertex-upstream";

type Json = Record<string, unknown>;
type Chunk = { choices: { delta: Json; finish_reason: string | null }[]; usage?: Json | null };

const PROJECT = "my-proj";
const EMAIL = "sluice@my-proj.iam.gserviceaccount.com";
const GEMINI = "gemini-2.5-flash";
const CLAUDE = "claude-sonnet-4-5@20250929";
const hi = [{ role: "user" as const, content: "hi" }];

let keys: { pem: string; publicKey: CryptoKey };
let otherKeys: { pem: string; publicKey: CryptoKey };
beforeAll(async () => {
  [keys, otherKeys] = await Promise.all([serviceAccountKeys(), serviceAccountKeys()]);
});

let tokens: GoogleTokenFake;
let vertex: VertexFake;
/** A fresh key id per test: the isolate's token cache is per service account, so no test sees another's token. */
let kid: string;
beforeEach(() => {
  const net = installUpstreams();
  kid = crypto.randomUUID().replace(/-/g, "");
  tokens = net.mount(TOKEN_ORIGIN, new GoogleTokenFake().addKey(EMAIL, kid, keys.publicKey));
  vertex = new VertexFake({ project: PROJECT, tokens });
  net.mount("https://us-central1-aiplatform.googleapis.com", vertex);
  net.mount("https://aiplatform.googleapis.com", vertex);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const config = (provider: Json = {}) => ({
  providers: {
    vertex: {
      type: "vertex",
      project: PROJECT,
      region: "us-central1",
      serviceAccount: "env:GCP_SERVICE_ACCOUNT",
      ...provider,
    },
  },
  models: {
    flash: { targets: [{ provider: "vertex", model: GEMINI }] },
    sonnet: { targets: [{ provider: "vertex", model: CLAUDE }] },
  },
});

async function setup(
  provider: Json = {},
  account = serviceAccountJson({ email: EMAIL, kid, pem: keys.pem }),
) {
  const g = gateway(config(provider), { GCP_SERVICE_ACCOUNT: account });
  return { g, key: await g.createKey() };
}

async function chat(g: Awaited<ReturnType<typeof setup>>, body: Json) {
  return g.g.fetch("/v1/chat/completions", post({ messages: hi, ...body }, g.key));
}

const last = () => vertex.requests[vertex.requests.length - 1];
const text = (chunks: Chunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
const issued = () => tokens.exchanges.filter((e) => "token" in e.outcome).length;

describe("Vertex provider: Gemini models", () => {
  it("answers a Gemini chat from generateContent with a bearer token from the service account", async () => {
    const s = await setup();
    const res = await chat(s, {
      model: "flash",
      max_tokens: 40,
      messages: [{ role: "system", content: "Be brief." }, ...hi],
    });
    const json = (await res.json()) as Json;
    expect(res.status).toBe(200);
    expect(last()?.url.host).toBe("us-central1-aiplatform.googleapis.com");
    expect(last()?.url.pathname).toBe(
      `/v1/projects/${PROJECT}/locations/us-central1/publishers/google/models/${GEMINI}:generateContent`,
    );
    expect(last()?.headers.authorization).toMatch(/^Bearer ya29\.c\.fake-1-/);
    expect(last()?.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      systemInstruction: { parts: [{ text: "Be brief." }] },
      generationConfig: { maxOutputTokens: 40 },
    });
    expect(json).toMatchObject({
      object: "chat.completion",
      model: GEMINI,
      choices: [{ message: { role: "assistant", content: "Hello from Gemini." }, finish_reason: "stop" }],
    });
    const usage = json.usage as Json;
    expect(usage.completion_tokens).toBe(5);
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(Number(usage.prompt_tokens) + 5);
  });

  it("streams a Gemini chat from streamGenerateContent?alt=sse, text and usage intact", async () => {
    vertex.gemini.reply({
      text: "Streams arrive a few words at a time.",
      usage: { prompt: 9, candidates: 8 },
    });
    const s = await setup();
    const res = await chat(s, { model: "flash", stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await readSse(res);
    const chunks = chunksOf(events) as unknown as Chunk[];
    expect(last()?.method).toBe("streamGenerateContent");
    expect(last()?.url.searchParams.get("alt")).toBe("sse");
    expect(events.at(-1)).toBe("[DONE]");
    expect(text(chunks)).toBe("Streams arrive a few words at a time.");
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 8, total_tokens: 17 });
  });

  it("uses the host without a region prefix and location global for region global", async () => {
    const s = await setup({ region: "global" });
    const res = await chat(s, { model: "flash" });
    expect(res.status).toBe(200);
    expect(last()?.url.host).toBe("aiplatform.googleapis.com");
    expect(last()?.location).toBe("global");
  });
});

describe("Vertex provider: Claude models", () => {
  it("answers a Claude chat from rawPredict, the body with anthropic_version and without model", async () => {
    vertex.claude.reply({
      text: "Hello from Claude on Vertex",
      usage: { input_tokens: 21, output_tokens: 6 },
    });
    const s = await setup();
    const res = await chat(s, {
      model: "sonnet",
      temperature: 0.3,
      messages: [{ role: "system", content: "Be brief." }, ...hi],
    });
    const json = (await res.json()) as Json;
    expect(res.status).toBe(200);
    expect(last()?.url.pathname).toBe(
      `/v1/projects/${PROJECT}/locations/us-central1/publishers/anthropic/models/${CLAUDE}:rawPredict`,
    );
    expect(last()?.headers.authorization).toMatch(/^Bearer ya29\./);
    expect(last()?.headers["anthropic-version"]).toBeUndefined();
    expect(last()?.body).toEqual({
      anthropic_version: "vertex-2023-10-16",
      max_tokens: 4096,
      system: "Be brief.",
      temperature: 0.3,
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    });
    expect(json).toMatchObject({
      choices: [
        { message: { role: "assistant", content: "Hello from Claude on Vertex" }, finish_reason: "stop" },
      ],
      usage: { prompt_tokens: 21, completion_tokens: 6, total_tokens: 27 },
    });
  });

  it("passes a /v1/messages body through to a Claude model: model out, anthropic_version in, the rest as sent", async () => {
    vertex.claude.reply({
      text: "Cached prefix used.",
      usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 900 },
    });
    const s = await setup();
    const body = {
      model: "sonnet",
      max_tokens: 100,
      system: [
        { type: "text", text: "You are an agent." },
        { type: "text", text: "Long tool docs.", cache_control: { type: "ephemeral" } },
      ],
      messages: [
        { role: "user", content: [{ type: "text", text: "Go", cache_control: { type: "ephemeral" } }] },
      ],
    };
    const res = await s.g.fetch(
      "/v1/messages",
      post(body, s.key, { "anthropic-version": "2023-06-01", "anthropic-beta": "context-1m-2025-08-07" }),
    );
    expect(res.status).toBe(200);
    const answer = (await res.json()) as Json;
    expect(answer).toMatchObject({
      type: "message",
      content: [{ type: "text", text: "Cached prefix used." }],
    });
    expect(answer.usage).toMatchObject({ cache_read_input_tokens: 900 });
    const { model: _model, ...rest } = body;
    expect(last()?.body).toEqual({ anthropic_version: "vertex-2023-10-16", ...rest });
    expect(last()?.url.pathname).toMatch(/:rawPredict$/);
    expect(last()?.headers["anthropic-beta"]).toBe("context-1m-2025-08-07");
  });

  it("streams a Claude chat from streamRawPredict, text and usage intact", async () => {
    vertex.claude.reply({
      text: "Streaming from Claude works.",
      usage: { input_tokens: 11, output_tokens: 5 },
    });
    const s = await setup({ defaultMaxTokens: 256 });
    const res = await chat(s, { model: "sonnet", stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    const events = await readSse(res);
    const chunks = chunksOf(events) as unknown as Chunk[];
    expect(last()?.method).toBe("streamRawPredict");
    expect(last()?.body).toMatchObject({
      stream: true,
      max_tokens: 256,
      anthropic_version: "vertex-2023-10-16",
    });
    expect(last()?.body).not.toHaveProperty("model");
    expect(events.at(-1)).toBe("[DONE]");
    expect(text(chunks)).toBe("Streaming from Claude works.");
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 });
  });

  it("reads a Claude model's own Anthropic-shaped error", async () => {
    vertex.claude.failNext(
      429,
      "rate_limit_error",
      "Number of request tokens has exceeded your per-minute rate limit",
    );
    const s = await setup();
    const res = await chat(s, { model: "sonnet" });
    const body = await expectError(res, 429, "rate_limit_error");
    expect(body.error.message).toBe("Number of request tokens has exceeded your per-minute rate limit");
  });
});

describe("vertexAnthropicEndpoint (for a /v1/messages passthrough)", () => {
  const p = (serviceAccount: string, region = "us-east5") =>
    ({
      type: "vertex",
      project: PROJECT,
      region,
      serviceAccount,
      strict: false,
      defaultMaxTokens: 4096,
    }) as const;

  it("gives the rawPredict or streamRawPredict URL and a bearer token, cached like the adapter's", async () => {
    const account = serviceAccountJson({ email: EMAIL, kid, pem: keys.pem });
    const json = await vertexAnthropicEndpoint(p(account), CLAUDE, false);
    const sse = await vertexAnthropicEndpoint(p(account, "global"), CLAUDE, true);
    expect(json.url).toBe(
      `https://us-east5-aiplatform.googleapis.com/v1/projects/${PROJECT}/locations/us-east5/publishers/anthropic/models/${CLAUDE}:rawPredict`,
    );
    expect(sse.url).toBe(
      `https://aiplatform.googleapis.com/v1/projects/${PROJECT}/locations/global/publishers/anthropic/models/${CLAUDE}:streamRawPredict`,
    );
    expect(json.headers.authorization).toMatch(/^Bearer ya29\./);
    expect(sse.headers.authorization).toBe(json.headers.authorization);
    expect(tokens.exchanges).toHaveLength(1);
  });

  it("throws a 502 upstream_auth_failed with Google's message when the exchange is refused", async () => {
    const account = serviceAccountJson({ email: EMAIL, kid, pem: otherKeys.pem });
    await expect(vertexAnthropicEndpoint(p(account), CLAUDE, false)).rejects.toMatchObject({
      status: 502,
      wireCode: "upstream_auth_failed",
      message: expect.stringContaining("invalid_grant: Invalid JWT Signature."),
    });
  });
});

describe("Vertex provider: the service account's access token", () => {
  it("fetches the token once and reuses it across calls of both model families", async () => {
    const s = await setup();
    for (const model of ["flash", "sonnet", "flash"]) expect((await chat(s, { model })).status).toBe(200);
    expect(tokens.exchanges).toHaveLength(1);
    expect(new Set(vertex.requests.map((r) => r.headers.authorization)).size).toBe(1);
    const { header, claims } = tokens.exchanges[0] ?? {};
    expect(header).toMatchObject({ alg: "RS256", kid });
    expect(claims).toMatchObject({ iss: EMAIL, sub: EMAIL, aud: TOKEN_URL, scope: SCOPE });
    expect(Number(claims?.exp) - Number(claims?.iat)).toBe(3600);
  });

  it("fetches a new token once the cached one is within five minutes of expiring", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    const s = await setup();
    expect((await chat(s, { model: "flash" })).status).toBe(200);
    vi.setSystemTime(t0 + 54 * 60_000);
    expect((await chat(s, { model: "sonnet" })).status).toBe(200);
    expect(issued()).toBe(1);
    vi.setSystemTime(t0 + 55 * 60_000);
    expect((await chat(s, { model: "flash" })).status).toBe(200);
    expect(issued()).toBe(2);
    const [first, , third] = vertex.requests.map((r) => r.headers.authorization);
    expect(third).not.toBe(first);
    expect(Number(tokens.exchanges[1]?.claims?.iat)).toBe(Math.floor((t0 + 55 * 60_000) / 1000));
  });

  it("lets concurrent first calls exchange on their own (no request waits on another's exchange), then shares the token", async () => {
    let open!: () => void;
    tokens.gate = new Promise<void>((r) => {
      open = r;
    });
    const s = await setup();
    const both = Promise.all([chat(s, { model: "flash" }), chat(s, { model: "sonnet" })]);
    await vi.waitFor(() => expect(tokens.pending).toBe(2));
    open();
    expect((await both).map((r) => r.status)).toEqual([200, 200]);
    expect(issued()).toBe(2);
    expect((await chat(s, { model: "flash" })).status).toBe(200);
    expect(issued()).toBe(2);
  });

  it("answers 502 with Google's message when the JWT is signed with another key, and calls no model", async () => {
    const s = await setup({}, serviceAccountJson({ email: EMAIL, kid, pem: otherKeys.pem }));
    const res = await chat(s, { model: "flash" });
    const body = await expectError(res, 502, "upstream_auth_failed");
    expect(body.error.message).toContain("invalid_grant: Invalid JWT Signature.");
    expect(tokens.exchanges[0]?.outcome).toEqual({ error: "invalid_grant" });
    expect(vertex.requests).toHaveLength(0);
  });

  it("answers 502 with Google's message when the account is unknown to Google", async () => {
    const s = await setup(
      {},
      serviceAccountJson({ email: "ghost@my-proj.iam.gserviceaccount.com", kid, pem: keys.pem }),
    );
    const body = await expectError(await chat(s, { model: "sonnet" }), 502, "upstream_auth_failed");
    expect(body.error.message).toContain("invalid_grant: Invalid grant: account not found");
  });

  it("retries a token endpoint's 5xx like an upstream's, and the retry gets a token", async () => {
    tokens.failNext(503, "internal_failure", "Backend Error");
    const cfg = config();
    cfg.models.flash = {
      ...cfg.models.flash,
      retry: { attempts: 2, backoffMs: 0 },
    } as typeof cfg.models.flash;
    const g = gateway(cfg, { GCP_SERVICE_ACCOUNT: serviceAccountJson({ email: EMAIL, kid, pem: keys.pem }) });
    const res = await chat({ g, key: await g.createKey() }, { model: "flash" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-sluice-retries")).toBe("1");
    expect(tokens.exchanges.map((e) => ("token" in e.outcome ? "token" : e.outcome.error))).toEqual([
      "internal_failure",
      "token",
    ]);
  });

  it("answers 502 when Vertex refuses the account on another project", async () => {
    const s = await setup({ project: "someone-elses" });
    const body = await expectError(await chat(s, { model: "flash" }), 502, "upstream_auth_failed");
    expect(body.error.message).toContain("Permission 'aiplatform.endpoints.predict' denied");
  });
});

describe("the fakes are strict", () => {
  const assertion = (claims: Json, key = keys, header: Json = {}) =>
    import("jose").then(async ({ importPKCS8 }) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid, ...header })
        .sign(await importPKCS8(key.pem, "RS256")),
    );
  const exchange = async (jwt: string) => {
    const res = await fetch(TOKEN_URL, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: jwt,
      }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const now = () => Math.floor(Date.now() / 1000);
  const good = () => ({
    iss: EMAIL,
    sub: EMAIL,
    aud: TOKEN_URL,
    scope: SCOPE,
    iat: now(),
    exp: now() + 3600,
  });

  it("issues a token for a well-formed assertion", async () => {
    const { status, body } = await exchange(await assertion(good()));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3599 });
    expect(tokens.holder(String(body.access_token))).toBe(EMAIL);
  });

  it.each([
    ["signed with another key", () => assertion(good(), otherKeys), "invalid_grant"],
    ["naming another key id", () => assertion(good(), keys, { kid: "nope" }), "invalid_grant"],
    [
      "for another audience",
      () => assertion({ ...good(), aud: "https://example.com/token" }),
      "invalid_grant",
    ],
    ["valid for more than an hour", () => assertion({ ...good(), exp: now() + 3601 }), "invalid_grant"],
    ["already expired", () => assertion({ ...good(), iat: now() - 4000, exp: now() - 400 }), "invalid_grant"],
    [
      "issued in the future",
      () => assertion({ ...good(), iat: now() + 600, exp: now() + 1200 }),
      "invalid_grant",
    ],
    ["without the cloud-platform scope", () => assertion({ ...good(), scope: "openid" }), "invalid_scope"],
    [
      "by an unknown account",
      () => assertion({ ...good(), iss: "x@y.iam.gserviceaccount.com" }),
      "invalid_grant",
    ],
  ])("refuses an assertion %s", async (_name, make, error) => {
    const { status, body } = await exchange(await make());
    expect(status).toBe(400);
    expect(body.error).toBe(error);
    expect(typeof body.error_description).toBe("string");
  });

  it("refuses a Vertex call with an expired or unknown token, and a Gemini turn without a role", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    const { body } = await exchange(await assertion(good()));
    const call = (token: string, contents: Json[] = [{ role: "user", parts: [{ text: "hi" }] }]) =>
      fetch(
        `https://us-central1-aiplatform.googleapis.com/v1/projects/${PROJECT}/locations/us-central1/publishers/google/models/${GEMINI}:generateContent`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ contents }),
        },
      );
    const token = String(body.access_token);
    expect((await call(token)).status).toBe(200);
    expect((await call(token, [{ parts: [{ text: "hi" }] }])).status).toBe(400);
    expect((await call("ya29.made-up")).status).toBe(401);
    vi.setSystemTime(t0 + 3600_000);
    expect((await call(token)).status).toBe(401);
  });

  it("refuses a Claude body that names the model or lacks anthropic_version or max_tokens", async () => {
    const { body } = await exchange(await assertion(good()));
    const call = (b: Json) =>
      fetch(
        `https://us-central1-aiplatform.googleapis.com/v1/projects/${PROJECT}/locations/us-central1/publishers/anthropic/models/${CLAUDE}:rawPredict`,
        {
          method: "POST",
          headers: {
            authorization: `Bearer ${String(body.access_token)}`,
            "content-type": "application/json",
          },
          body: JSON.stringify(b),
        },
      );
    const ok = {
      anthropic_version: "vertex-2023-10-16",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
    };
    expect((await call(ok)).status).toBe(200);
    expect((await call({ ...ok, model: CLAUDE })).status).toBe(400);
    const { anthropic_version: _v, ...noVersion } = ok;
    expect((await call(noVersion)).status).toBe(400);
    const { max_tokens: _m, ...noMax } = ok;
    const res = await call(noMax);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { message: "max_tokens: Field required" } });
  });
});

describe("Vertex provider: config", () => {
  it.each([
    ["text that is not JSON", "not json at all -----BEGIN PRIVATE KEY-----", "is not JSON"],
    [
      "a key file without client_email",
      JSON.stringify({ type: "service_account", private_key: "x" }),
      "client_email",
    ],
    [
      "a key that is not a PEM",
      JSON.stringify({ private_key: "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", client_email: EMAIL }),
      "private_key",
    ],
    [
      "a user credential instead of a service account",
      JSON.stringify({ type: "authorized_user", client_id: "x", refresh_token: "y" }),
      "service_account",
    ],
  ])(
    "answers 500 config_invalid naming serviceAccount for %s, without a token request",
    async (_name, account, problem) => {
      const s = await setup({}, account);
      const body = await expectError(await chat(s, { model: "flash" }), 500, "config_invalid");
      expect(body.error.message).toContain("providers.vertex.serviceAccount");
      expect(body.error.message).toContain(problem);
      expect(body.error.message).not.toContain(account.slice(0, 15));
      expect(tokens.exchanges).toHaveLength(0);
    },
  );

  it("answers 500 config_invalid for a PEM that does not hold a readable key", async () => {
    const pem = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
    const s = await setup({}, serviceAccountJson({ email: EMAIL, kid, pem }));
    const body = await expectError(await chat(s, { model: "sonnet" }), 500, "config_invalid");
    expect(body.error.message).toContain("providers.vertex.serviceAccount: private_key");
  });

  it("answers 500 config_invalid naming the field when the secret is not set or the region is malformed", async () => {
    const g = gateway(config(), {});
    expect((await expectError(await g.fetch("/healthz"), 500, "config_invalid")).error.message).toContain(
      "providers.vertex.serviceAccount",
    );
    const bad = gateway(config({ region: "us central" }), { GCP_SERVICE_ACCOUNT: "{}" });
    expect((await expectError(await bad.fetch("/healthz"), 500, "config_invalid")).error.message).toContain(
      "providers.vertex.region",
    );
  });

  it("refuses embeddings with a 400, since Vertex embeds through another API", async () => {
    const s = await setup();
    const res = await s.g.fetch(
      "/v1/embeddings",
      post({ model: "vertex/text-embedding-005", input: "hi" }, s.key),
    );
    await expectError(res, 400, "unsupported_operation");
    expect(tokens.exchanges).toHaveLength(0);
  });
});
