import { vi } from "vitest";
import { installUpstreams } from "../helpers/upstream";

/**
 * The limits tests' call and upstream. Prices are $1 per million tokens in and out = 1,000,000 pico-USD a token:
 * a call of "hi" with max_tokens 50 has a worst case of (6 estimated input + 50 output) tokens, and the fake
 * upstream reports exactly that usage, so each call really costs its worst case.
 */
export const PER_CALL_PUSD = 56_000_000;
export const ASK = {
  model: "openai/gpt-4o-mini",
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 50,
};

/** The fake OpenAI upstream answering every call with that usage (call logs silenced). */
export function upstream() {
  vi.spyOn(console, "log").mockImplementation(() => {});
  return installUpstreams()
    .add("https://api.openai.com", { apiKey: "sk-o" })
    .reply({ content: "ok", usage: { prompt_tokens: 6, completion_tokens: 50 } });
}
