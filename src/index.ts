import { createApp } from "./app";

export { SpendBuffer } from "./spend/buffer";

/** Worker entry: the Hono app's fetch. */
export default createApp();
