import type { GatewayConfig } from "../config/schema";
import type { Env } from "../env";
import type { KeyRecord } from "../keys/store";

/** Hono's type parameters for the app: bindings and the per-request variables middleware sets. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: GatewayConfig;
    key: KeyRecord;
  };
}
