import { GatewayError } from "../http/errors";
import { MIN_TTL_SECONDS } from "./store/interface";

/** What a request asks of the cache through its headers. */
export interface CacheDirective {
  /** `use`: look up and store; `refresh`: go upstream and replace; `no-store`: go upstream, store nothing. */
  mode: "use" | "refresh" | "no-store";
  /** `x-sluice-cache-ttl`, seconds. */
  ttlSeconds: number | null;
  /** `x-sluice-cache-tags`. */
  tags: string[];
}

const TAG = /^[\w.:-]{1,64}$/;
const MAX_TAGS = 10;
const MAX_TTL_SECONDS = 365 * 86_400;

const bad = (header: string, message: string) =>
  new GatewayError("invalid_request", `Invalid ${header} header: ${message}`, { param: header });

/**
 * Reads `x-sluice-cache` (`no-store` | `refresh`), `Cache-Control` (`no-store`, `no-cache`),
 * `x-sluice-cache-ttl` and `x-sluice-cache-tags`; a malformed one is a 400 naming the header.
 */
export function cacheDirective(headers: Headers): CacheDirective {
  let mode: CacheDirective["mode"] = "use";
  const control = (headers.get("cache-control") ?? "")
    .split(",")
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);
  if (control.includes("no-cache")) mode = "refresh";
  if (control.includes("no-store")) mode = "no-store";
  const asked = headers.get("x-sluice-cache")?.trim().toLowerCase();
  if (asked) {
    if (asked !== "no-store" && asked !== "refresh") {
      throw bad("x-sluice-cache", `'${asked.slice(0, 40)}' is not one of no-store, refresh.`);
    }
    if (mode !== "no-store") mode = asked;
  }
  const ttlText = headers.get("x-sluice-cache-ttl");
  let ttlSeconds: number | null = null;
  if (ttlText !== null) {
    ttlSeconds = /^\d{1,9}$/.test(ttlText.trim()) ? Number(ttlText.trim()) : Number.NaN;
    if (!(ttlSeconds >= MIN_TTL_SECONDS && ttlSeconds <= MAX_TTL_SECONDS)) {
      throw bad("x-sluice-cache-ttl", `give whole seconds from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}.`);
    }
  }
  const tagsText = headers.get("x-sluice-cache-tags");
  const tags = tagsText
    ? tagsText
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean)
    : [];
  if (tags.length > MAX_TAGS || tags.some((t) => !TAG.test(t))) {
    throw bad(
      "x-sluice-cache-tags",
      `up to ${MAX_TAGS} comma-separated tags of letters, digits and _ . : -.`,
    );
  }
  return { mode, ttlSeconds, tags };
}
