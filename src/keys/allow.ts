import { GatewayError } from "../http/errors";
import type { BrowserToken } from "../tokens/token";
import type { KeyRecord } from "./store";

function matches(pattern: string, model: string): boolean {
  if (!pattern.includes("*")) return pattern === model;
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`);
  return re.test(model);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

/** Whether the key may use this model name (as the client wrote it); patterns use `*` as a wildcard. */
export function modelAllowed(key: KeyRecord, model: string): boolean {
  return key.models === null || key.models.some((p) => matches(p, model));
}

/** Throws 403 `model_not_allowed` unless the key may use the model. */
export function assertModelAllowed(key: KeyRecord, model: string): void {
  if (!modelAllowed(key, model)) {
    throw new GatewayError("model_not_allowed", `This key is not allowed to use model '${model}'.`, {
      param: "model",
    });
  }
}

/** Throws 403 `model_not_allowed` unless the browser token's own patterns allow the model. */
export function assertTokenModel(token: BrowserToken, model: string): void {
  if (token.models !== null && !token.models.some((p) => matches(p, model))) {
    throw new GatewayError(
      "model_not_allowed",
      `This browser token is not allowed to use model '${model}'.`,
      {
        param: "model",
      },
    );
  }
}
