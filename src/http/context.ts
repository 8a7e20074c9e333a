import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import type { KeyRecord } from "../keys/store";
import type { Services } from "../pipeline/services";
import type { BrowserToken } from "../tokens/token";

/** Hono's type parameters for the app: bindings and the per-request variables middleware sets. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The gateway's own id for this request: everything that counts or deduplicates uses it. */
    requestId: string;
    /** The client's `x-request-id` (when sane): echoed and stored, never used as a key. */
    clientRequestId: string | null;
    config: GatewayConfig;
    /** The request's services (bindings, config, spend sink, stages), built by `gate` (http/middleware.ts). */
    services: Services;
    key: KeyRecord;
    /** The browser token the request came with (its parent key is `key`); null for a key. */
    token: BrowserToken | null;
  };
}
