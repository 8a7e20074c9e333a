import { createApp } from "./app";

export { LocalVectorIndex } from "./cache/vectors/durable-object";
export { Limiter } from "./limits/limiter";
export { CircuitBreaker } from "./routing/breaker/durable-object";
export { SpendBuffer } from "./spend/buffer";

/** Worker entry: the Hono app's fetch. */
export default createApp();
