import { createApp } from "./app";

/** Worker entry: the Hono app's fetch. */
export default createApp();
