import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import type { KeyRecord } from "../keys/store";
import type { BrowserToken } from "../tokens/token";

/** Hono's type parameters for the app: bindings and the per-request variables middleware sets. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: GatewayConfig;
    key: KeyRecord;
    /** The browser token the request came with (its parent key is `key`); null for a key. */
    token: BrowserToken | null;
  };
}
