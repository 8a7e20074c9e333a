import { importPKCS8, SignJWT } from "jose";
import { GatewayError } from "../http/errors";

/**
 * Google service-account auth for Vertex AI: the key file's JSON → a signed RS256 JWT → an OAuth access token
 * from the key's `token_uri` (the JWT-bearer grant, RFC 7523), kept in the isolate until shortly before it
 * expires.
 *
 * Sharing: a cached token (a string) and an imported key (a CryptoKey) are plain values every request may use.
 * An exchange *in flight* is never shared: a Worker request must not await a promise that another request's
 * I/O settles (workerd warns, and the waiter hangs if the other request ends first — see the spend batching and
 * cache coalescing decisions in ARCHITECTURE.md). So callers that find no token exchange on their own, each
 * with its own fetch, and the first answer fills the cache for every later call. The cost is a few redundant
 * exchanges when an isolate's first calls arrive together (Google issues many valid tokens per account).
 */

/** The fields of a service-account key file Sluice uses. */
export interface ServiceAccount {
  clientEmail: string;
  /** PEM, PKCS#8 (`-----BEGIN PRIVATE KEY-----`). */
  privateKey: string;
  /** Sent as the JWT's `kid`, so Google picks the right public key. */
  privateKeyId: string | undefined;
  tokenUri: string;
}

/** A token endpoint's refusal (Google's `{"error","error_description"}`), or a non-JSON failure. */
export class TokenExchangeError extends Error {
  constructor(
    /** The token endpoint's HTTP status. */
    readonly status: number,
    /** `invalid_grant`, `invalid_scope`, `unauthorized_client`, … (or `token_exchange_failed`). */
    readonly error: string,
    message: string,
  ) {
    super(message);
    this.name = "TokenExchangeError";
  }
}

export const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** JWT lifetime; Google refuses assertions valid for more than an hour. */
const ASSERTION_SECONDS = 3600;
/** A token is renewed this long before it expires (at most half its lifetime). */
const REFRESH_MARGIN_MS = 5 * 60_000;
const MAX_ENTRIES = 100;

type Json = Record<string, unknown>;

const invalid = (field: string, problem: string) =>
  new GatewayError("config_invalid", `Invalid gateway config: ${field}: ${problem}`);

/**
 * The service-account key file's text → its fields; a `config_invalid` naming `field` when it is not one.
 * Messages never quote the text (it holds the private key): JSON.parse's own message would.
 */
export function parseServiceAccount(text: string, field: string): ServiceAccount {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(field, "is not JSON: it must be the service-account key file's JSON text");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw invalid(field, "must be a JSON object (the service-account key file)");
  }
  const j = json as Json;
  if (j.type !== undefined && j.type !== "service_account") {
    throw invalid(field, `has type '${String(j.type)}', expected 'service_account'`);
  }
  const str = (k: string) => (typeof j[k] === "string" && j[k] !== "" ? (j[k] as string) : undefined);
  const clientEmail = str("client_email");
  if (!clientEmail?.includes("@")) throw invalid(field, "needs client_email (the service account's email)");
  // Keys pasted into an env var sometimes keep their newlines escaped.
  const privateKey = str("private_key")?.replace(/\\n/g, "\n");
  if (!privateKey || !/-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/.test(privateKey)) {
    throw invalid(field, "needs private_key, a PEM PKCS#8 key (-----BEGIN PRIVATE KEY-----)");
  }
  if (j.private_key_id !== undefined && typeof j.private_key_id !== "string") {
    throw invalid(field, "private_key_id must be a string");
  }
  const tokenUri = str("token_uri") ?? GOOGLE_TOKEN_URI;
  if (!/^https:\/\/[^/\s]+/.test(tokenUri)) throw invalid(field, "token_uri must be an https URL");
  return { clientEmail, privateKey, privateKeyId: str("private_key_id"), tokenUri };
}

/** Imported signing keys and cached tokens, per service account (the key text included: a new key, a new entry). */
const keys = new Map<string, CryptoKey>();
const tokens = new Map<string, { token: string; renewAt: number }>();

const cacheKey = (sa: ServiceAccount) =>
  [sa.tokenUri, sa.clientEmail, sa.privateKeyId ?? "", sa.privateKey].join("\n");

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (!map.has(key) && map.size >= MAX_ENTRIES) map.clear();
  map.set(key, value);
}

async function signingKey(sa: ServiceAccount, field: string): Promise<CryptoKey> {
  const id = cacheKey(sa);
  const known = keys.get(id);
  if (known) return known;
  let key: CryptoKey;
  try {
    key = await importPKCS8(sa.privateKey, "RS256");
  } catch {
    throw invalid(field, "private_key is not a readable PKCS#8 RSA private key");
  }
  remember(keys, id, key);
  return key;
}

/** The signed assertion: iss = sub = the account, aud = the token URI, the cloud-platform scope, one hour. */
export async function signAssertion(sa: ServiceAccount, field: string, now = Date.now()): Promise<string> {
  const key = await signingKey(sa, field);
  const iat = Math.floor(now / 1000);
  return new SignJWT({ scope: CLOUD_PLATFORM_SCOPE })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(sa.privateKeyId ? { kid: sa.privateKeyId } : {}) })
    .setIssuer(sa.clientEmail)
    .setSubject(sa.clientEmail)
    .setAudience(sa.tokenUri)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_SECONDS)
    .sign(key);
}

/**
 * An access token for the account: the cached one while it has more than the refresh margin left, else a new
 * exchange (see the note at the top on why concurrent first callers each exchange). Throws
 * `TokenExchangeError` when the token endpoint refuses, a `config_invalid` GatewayError for a key that cannot
 * sign, and lets a network failure (TypeError) or an abort through.
 */
export async function accessToken(
  sa: ServiceAccount,
  field: string,
  signal?: AbortSignal | undefined,
): Promise<string> {
  const id = cacheKey(sa);
  const cached = tokens.get(id);
  if (cached && Date.now() < cached.renewAt) return cached.token;
  const assertion = await signAssertion(sa, field);
  const res = await fetch(sa.tokenUri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }).toString(),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  let body: Json = {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === "object" && v !== null) body = v as Json;
  } catch {
    // Not JSON: reported below by status.
  }
  if (!res.ok) {
    const error = typeof body.error === "string" ? body.error : "token_exchange_failed";
    const description =
      typeof body.error_description === "string" && body.error_description
        ? body.error_description
        : `token endpoint answered ${res.status}`;
    throw new TokenExchangeError(res.status, error, `${error}: ${description}`);
  }
  const token = body.access_token;
  const expiresIn = Number(body.expires_in);
  if (typeof token !== "string" || token === "" || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new TokenExchangeError(
      502,
      "token_exchange_failed",
      "the token endpoint's answer has no access_token",
    );
  }
  const lifetimeMs = expiresIn * 1000;
  remember(tokens, id, {
    token,
    renewAt: Date.now() + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2),
  });
  return token;
}
