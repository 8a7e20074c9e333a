import type { D1Migration } from "cloudflare:test";
import type { Env } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env {
      DB: D1Database;
      SPEND: DurableObjectNamespace<import("../src/spend/buffer").SpendBuffer>;
      LIMITS: DurableObjectNamespace<import("../src/limits/limiter").Limiter>;
      VECTORS: DurableObjectNamespace<import("../src/cache/vectors/durable-object").LocalVectorIndex>;
      BREAKERS: DurableObjectNamespace<import("../src/routing/breaker/durable-object").CircuitBreaker>;
      ADMIN_TOKEN: string;
      GATEWAY_CONFIG?: string;
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}

export type { Env };
