import { compactVerify, decodeJwt, decodeProtectedHeader, exportPKCS8, generateKeyPair } from "jose";
import { FakeAnthropic } from "./anthropic-upstream";
import { GeminiFake, googleError } from "./gemini-upstream";
import type { MountedFake } from "./upstream";

/**
 * Strict fakes of Google Cloud's OAuth token endpoint and of Vertex AI, mounted with `installUpstreams().mount(...)`.
 *
 * GoogleTokenFake (`POST https://oauth2.googleapis.com/token`), the JWT-bearer grant as Google answers it:
 * - form-encoded `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`, else 400
 *   `unsupported_grant_type` / `invalid_request`;
 * - the JWT: RS256, signed by a key registered for its `iss` (by `kid` when given), else `invalid_grant`
 *   "Invalid JWT Signature." (an unknown `iss`: "Invalid grant: account not found"); `aud` the token URI;
 *   `iat`/`exp` numbers, `exp - iat` ≤ 3600, not expired, `iat` not ahead of the clock by more than a minute
 *   (Google's "short-lived token" message); `sub`, when present, the account itself; a `scope` holding
 *   cloud-platform, else `invalid_scope`. Refusals are 400 `{"error","error_description"}`;
 * - answers `{access_token, expires_in, token_type: "Bearer"}` and remembers each token's expiry, which the
 *   Vertex fake checks. Time is `Date.now()`, so `vi.setSystemTime` moves both sides.
 *
 * VertexFake (`https://{region}-aiplatform.googleapis.com`, `https://aiplatform.googleapis.com` for global):
 * - `POST /v1/projects/{project}/locations/{location}/publishers/{google|anthropic}/models/{model}:{method}`;
 *   the host must match the location; another project than the configured one is a 403 PERMISSION_DENIED;
 * - `Authorization: Bearer` with a token the token fake issued and that has not expired, else 401
 *   UNAUTHENTICATED (Google's wording);
 * - Google publisher: `generateContent` and `streamGenerateContent` (SSE with `?alt=sse`); every entry of
 *   `contents` must carry a role (`user`/`model`) — stricter than the v1 proto, which calls it optional; the
 *   translator always sends it. The body is then checked and answered by GeminiFake (proto parsing, turn
 *   rules, GenerateContentResponse JSON / SSE with usage), with Vertex's `createTime` and
 *   `usageMetadata.trafficType` added;
 * - Anthropic publisher: `rawPredict` (JSON) and `streamRawPredict` (SSE, and the body must say
 *   `"stream": true` — the fake's own rule, so the two never disagree); `anthropic_version` must be
 *   `vertex-2023-10-16`, a `model` field is refused (it is in the URL), then FakeAnthropic checks the rest
 *   under API 2023-06-01 (`max_tokens` required, roles, tool turns, …) and answers a Message or its SSE events;
 * - errors: Google's `{"error":{code,message,status}}`, Anthropic's `{"type":"error",…}` for Claude bodies.
 */

type Json = Record<string, unknown>;

export const TOKEN_ORIGIN = "https://oauth2.googleapis.com";
export const TOKEN_URL = `${TOKEN_ORIGIN}/token`;
export const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const INNER_KEY = "vertex-fake-inner";

/** An RSA key pair as a service account has one: the private key as PKCS#8 PEM, the public key for the fake. */
export async function serviceAccountKeys(): Promise<{ pem: string; publicKey: CryptoKey }> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  return { pem: await exportPKCS8(privateKey), publicKey };
}

/** A service-account key file's JSON text. */
export function serviceAccountJson(a: { email: string; kid: string; pem: string; project?: string }): string {
  return JSON.stringify({
    type: "service_account",
    project_id: a.project ?? "my-proj",
    private_key_id: a.kid,
    private_key: a.pem,
    client_email: a.email,
    client_id: "109876543210987654321",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: TOKEN_URL,
    auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
    universe_domain: "googleapis.com",
  });
}

const grantError = (error: string, description: string, status = 400) =>
  new Response(JSON.stringify({ error, error_description: description }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });

class Refuse extends Error {
  constructor(readonly response: Response) {
    super("refused");
  }
}

export interface TokenExchange {
  /** The decoded assertion (whether or not it was accepted). */
  claims: Json | undefined;
  header: Json | undefined;
  /** The access token issued, or the error code. */
  outcome: { token: string } | { error: string };
}

export class GoogleTokenFake implements MountedFake {
  readonly exchanges: TokenExchange[] = [];
  /** Lifetime of issued tokens, seconds (Google's is 3599). */
  expiresIn = 3599;
  /** While set, every exchange waits for it after being counted in `pending`. */
  gate: Promise<void> | null = null;
  pending = 0;
  private readonly accounts = new Map<string, Map<string, CryptoKey>>();
  private readonly issued = new Map<string, { email: string; expiresAt: number }>();
  private failures: { status: number; error: string; description: string }[] = [];
  private n = 0;

  /** Registers a key (public half) of a service account. */
  addKey(email: string, kid: string, publicKey: CryptoKey): this {
    const keys = this.accounts.get(email) ?? new Map<string, CryptoKey>();
    keys.set(kid, publicKey);
    this.accounts.set(email, keys);
    return this;
  }

  /** The next valid exchange fails with this status and Google's error body. */
  failNext(status: number, error: string, description: string): this {
    this.failures.push({ status, error, description });
    return this;
  }

  /** The account a token was issued to, if it was issued here and has not expired. */
  holder(token: string): string | undefined {
    const t = this.issued.get(token);
    return t && Date.now() < t.expiresAt ? t.email : undefined;
  }

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/token") {
      return new Response("Not Found", { status: 404, headers: { "content-type": "text/html" } });
    }
    const exchange: TokenExchange = { claims: undefined, header: undefined, outcome: { error: "pending" } };
    this.exchanges.push(exchange);
    this.pending++;
    try {
      if (this.gate) await this.gate;
      const token = await this.exchange(req, exchange);
      exchange.outcome = { token };
      return new Response(
        JSON.stringify({ access_token: token, expires_in: this.expiresIn, token_type: "Bearer" }),
        {
          headers: { "content-type": "application/json; charset=utf-8" },
        },
      );
    } catch (e) {
      if (!(e instanceof Refuse)) throw e;
      const body = (await e.response.clone().json()) as { error: string };
      exchange.outcome = { error: body.error };
      return e.response;
    } finally {
      this.pending--;
    }
  }

  private async exchange(req: Request, exchange: TokenExchange): Promise<string> {
    if (!(req.headers.get("content-type") ?? "").startsWith("application/x-www-form-urlencoded")) {
      throw new Refuse(grantError("invalid_request", "Invalid request: expected form-encoded parameters."));
    }
    const form = new URLSearchParams(new TextDecoder().decode(await req.arrayBuffer()));
    const grant = form.get("grant_type") ?? "";
    if (grant !== JWT_BEARER)
      throw new Refuse(grantError("unsupported_grant_type", `Invalid grant_type: ${grant}`));
    const assertion = form.get("assertion");
    if (!assertion) throw new Refuse(grantError("invalid_request", "Missing required parameter: assertion"));
    let header: Json;
    let claims: Json;
    try {
      header = decodeProtectedHeader(assertion) as Json;
      claims = decodeJwt(assertion) as Json;
    } catch {
      throw new Refuse(grantError("invalid_grant", "Invalid JWT: malformed."));
    }
    exchange.header = header;
    exchange.claims = claims;
    const keys = this.accounts.get(String(claims.iss));
    if (!keys) throw new Refuse(grantError("invalid_grant", "Invalid grant: account not found"));
    const badSignature = () => new Refuse(grantError("invalid_grant", "Invalid JWT Signature."));
    if (header.alg !== "RS256") throw badSignature();
    const candidates = typeof header.kid === "string" ? [keys.get(header.kid)] : [...keys.values()];
    let verified = false;
    for (const key of candidates) {
      if (!key) continue;
      try {
        await compactVerify(assertion, key, { algorithms: ["RS256"] });
        verified = true;
        break;
      } catch {
        // Try the next key.
      }
    }
    if (!verified) throw badSignature();
    if (claims.aud !== TOKEN_URL) {
      throw new Refuse(
        grantError(
          "invalid_grant",
          `Invalid JWT: Failed audience check. The expected audience is ${TOKEN_URL}.`,
        ),
      );
    }
    const now = Date.now() / 1000;
    const { iat, exp } = claims;
    if (
      typeof iat !== "number" ||
      typeof exp !== "number" ||
      exp - iat > 3600 ||
      exp <= iat ||
      exp < now ||
      iat > now + 60
    ) {
      throw new Refuse(
        grantError(
          "invalid_grant",
          "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        ),
      );
    }
    if (claims.sub !== undefined && claims.sub !== claims.iss) {
      throw new Refuse(
        grantError(
          "unauthorized_client",
          "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
          401,
        ),
      );
    }
    const scopes = typeof claims.scope === "string" ? claims.scope.split(" ") : [];
    if (!scopes.includes(SCOPE)) {
      throw new Refuse(grantError("invalid_scope", "Invalid OAuth scope or ID token audience provided."));
    }
    const failure = this.failures.shift();
    if (failure) throw new Refuse(grantError(failure.error, failure.description, failure.status));
    const token = `ya29.c.fake-${++this.n}-${crypto.randomUUID()}`;
    this.issued.set(token, { email: String(claims.iss), expiresAt: Date.now() + this.expiresIn * 1000 });
    return token;
  }
}

export interface VertexRequest {
  url: URL;
  project: string;
  location: string;
  publisher: string;
  model: string;
  method: string;
  headers: Record<string, string>;
  body: Json;
}

const anthropicError = (status: number, message: string) =>
  new Response(JSON.stringify({ type: "error", error: { type: "invalid_request_error", message } }), {
    status,
    headers: { "content-type": "application/json" },
  });

export class VertexFake implements MountedFake {
  readonly requests: VertexRequest[] = [];
  /** The Gemini checks and answers (script replies with `gemini.reply(...)`). */
  readonly gemini = new GeminiFake({ apiKey: INNER_KEY });
  /** The Claude checks and answers (script replies with `claude.reply(...)`). */
  readonly claude = new FakeAnthropic(INNER_KEY);

  constructor(readonly opts: { project: string; tokens: GoogleTokenFake }) {}

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m =
      /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/([^/]+)\/models\/([^/:]+):([A-Za-z]+)$/.exec(
        url.pathname,
      );
    if (req.method !== "POST" || !m) {
      return new Response("<!DOCTYPE html><title>Error 404 (Not Found)!!1</title>", { status: 404 });
    }
    const [project, location, publisher, model, method] = m.slice(1).map((s) => decodeURIComponent(s)) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const raw = await req.text();
    const rec: VertexRequest = {
      url,
      project,
      location,
      publisher,
      model,
      method,
      headers: Object.fromEntries([...req.headers].map(([k, v]) => [k.toLowerCase(), v])),
      body: {},
    };
    this.requests.push(rec);
    const host =
      location === "global" ? "aiplatform.googleapis.com" : `${location}-aiplatform.googleapis.com`;
    if (url.host !== host) {
      return googleError(
        400,
        "INVALID_ARGUMENT",
        `Location ${location} is not served by the endpoint ${url.host}; use ${host}.`,
      );
    }
    const bearer = /^Bearer (\S+)$/.exec(rec.headers.authorization ?? "")?.[1];
    if (!bearer) {
      return googleError(
        401,
        "UNAUTHENTICATED",
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
      );
    }
    if (!this.opts.tokens.holder(bearer)) {
      return googleError(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
      );
    }
    const resource = `//aiplatform.googleapis.com/projects/${project}/locations/${location}/publishers/${publisher}/models/${model}`;
    if (project !== this.opts.project) {
      return googleError(
        403,
        "PERMISSION_DENIED",
        `Permission 'aiplatform.endpoints.predict' denied on resource '${resource}' (or it may not exist).`,
      );
    }
    if (!(rec.headers["content-type"] ?? "").includes("application/json")) {
      return googleError(
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload received. Expected application/json.",
      );
    }
    try {
      rec.body = JSON.parse(raw) as Json;
    } catch {
      return googleError(
        400,
        "INVALID_ARGUMENT",
        `Invalid JSON payload received. Unexpected token.\n${raw.slice(0, 20)}\n^`,
      );
    }
    if (publisher === "google") return this.google(rec, raw);
    if (publisher === "anthropic") return this.anthropic(rec);
    return googleError(404, "NOT_FOUND", `Publisher Model \`${resource}\` not found.`);
  }

  private async google(rec: VertexRequest, raw: string): Promise<Response> {
    if (rec.method !== "generateContent" && rec.method !== "streamGenerateContent") {
      return googleError(404, "NOT_FOUND", `Method not found: ${rec.method}`);
    }
    const contents = Array.isArray(rec.body.contents) ? (rec.body.contents as Json[]) : [];
    if (contents.some((c) => c.role !== "user" && c.role !== "model")) {
      return googleError(400, "INVALID_ARGUMENT", "Please use a valid role: user, model.");
    }
    const inner = await this.gemini.handle(
      new Request(
        `https://generativelanguage.googleapis.com/v1beta/models/${encodeURIComponent(rec.model)}:${rec.method}${rec.url.search}`,
        {
          method: "POST",
          headers: { "content-type": "application/json", "x-goog-api-key": INNER_KEY },
          body: raw,
        },
      ),
    );
    if (!inner.ok) return inner;
    const vertexify = (r: Json): Json => ({
      ...r,
      createTime: new Date().toISOString(),
      ...(r.usageMetadata
        ? { usageMetadata: { ...(r.usageMetadata as Json), trafficType: "ON_DEMAND" } }
        : {}),
    });
    const text = await inner.text();
    if (!(inner.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const j = JSON.parse(text) as Json | Json[];
      return Response.json(Array.isArray(j) ? j.map(vertexify) : vertexify(j));
    }
    const events = text
      .split("\r\n\r\n")
      .filter((e) => e.startsWith("data: "))
      .map((e) => `data: ${JSON.stringify(vertexify(JSON.parse(e.slice(6)) as Json))}\r\n\r\n`);
    return new Response(events.join(""), { headers: { "content-type": "text/event-stream" } });
  }

  private async anthropic(rec: VertexRequest): Promise<Response> {
    if (rec.method !== "rawPredict" && rec.method !== "streamRawPredict") {
      return googleError(404, "NOT_FOUND", `Method not found: ${rec.method}`);
    }
    const { anthropic_version: version, ...body } = rec.body;
    if (version === undefined) return anthropicError(400, "anthropic_version: Field required");
    if (version !== "vertex-2023-10-16") {
      return anthropicError(400, "anthropic_version: Input should be 'vertex-2023-10-16'");
    }
    if ("model" in body) return anthropicError(400, "model: Extra inputs are not permitted");
    if ((rec.method === "streamRawPredict") !== (body.stream === true)) {
      return anthropicError(
        400,
        `stream: ${rec.method} takes "stream": ${rec.method === "streamRawPredict"}`,
      );
    }
    return this.claude.handle(
      new Request("https://api.anthropic.com/v1/messages", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          "x-api-key": INNER_KEY,
        },
        body: JSON.stringify({ model: rec.model, ...body }),
      }),
    );
  }
}
