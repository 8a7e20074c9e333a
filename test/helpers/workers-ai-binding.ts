/**
 * A test double of the Workers AI binding (`env.AI`), behaving as the real one does for the calls Sluice makes:
 * `run(model, inputs, options)` throws for an unknown model or invalid inputs (the binding throws rather than
 * answering HTTP), answers text generation as `{response, tool_calls?, usage}` or, with `stream: true`, a
 * ReadableStream of SSE (`data: {"response":"…","p":"…"}` events, a last event with usage, `data: [DONE]`),
 * and embeddings as `{shape, data}`. Every call is recorded.
 */

type Json = Record<string, unknown>;

const TEXT_MODELS = new Set(["@cf/meta/llama-3.1-8b-instruct", "@hf/nousresearch/hermes-2-pro-mistral-7b"]);
const EMBEDDING_MODELS: Record<string, number> = {
  "@cf/baai/bge-small-en-v1.5": 384,
  "@cf/baai/bge-base-en-v1.5": 768,
};
const ROLES = new Set(["system", "user", "assistant", "tool"]);

export class FakeAi {
  readonly calls: { model: string; inputs: Json; options: Json | undefined }[] = [];
  /** The next answer's text; when the inputs carry tools and the last message is the user's, a tool call instead. */
  text = "Hello from Workers AI";
  /** Errors the next calls throw, in order, as the real binding throws them (e.g. `AiError: 3040: …`). */
  readonly failures: string[] = [];

  async run(model: string, inputs: Json, options?: Json): Promise<unknown> {
    this.calls.push({ model, inputs, options });
    const failure = this.failures.shift();
    if (failure !== undefined) throw new Error(failure);
    if (model in EMBEDDING_MODELS) {
      const text = inputs.text;
      const texts = typeof text === "string" ? [text] : text;
      if (!Array.isArray(texts) || texts.length === 0 || texts.some((t) => typeof t !== "string")) {
        throw new Error("AiError: 5006: Error: required properties at '/' are 'text'");
      }
      const dims = EMBEDDING_MODELS[model] as number;
      return { shape: [texts.length, dims], data: texts.map((t) => vector(t, dims)), pooling: "mean" };
    }
    if (!TEXT_MODELS.has(model)) throw new Error(`AiError: 5007: No such model ${model} or task`);
    const messages = inputs.messages as Json[] | undefined;
    if (!Array.isArray(messages) && typeof inputs.prompt !== "string") {
      throw new Error(
        "AiError: 5006: Error: oneOf at '/' not met, required properties are 'prompt' or 'messages'",
      );
    }
    for (const m of messages ?? []) {
      if (!ROLES.has(String(m.role)) || typeof m.content !== "string") {
        throw new Error("AiError: 5006: Error: invalid message: role and string content required");
      }
    }
    const last = messages?.[messages.length - 1];
    const tools = inputs.tools as Json[] | undefined;
    const toolCall =
      tools?.length && last?.role === "user"
        ? [{ name: String((tools[0]?.function as Json | undefined)?.name), arguments: { city: "Paris" } }]
        : undefined;
    const text = toolCall ? "" : last?.role === "tool" ? `Tool said: ${String(last.content)}` : this.text;
    const usage = { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 };
    if (inputs.stream === true) return stream(text, toolCall, usage);
    return toolCall ? { response: null, tool_calls: toolCall, usage } : { response: text, usage };
  }
}

function stream(text: string, toolCall: Json[] | undefined, usage: Json): ReadableStream<Uint8Array> {
  const events = text.split(/(?<= )/).map((w) => ({ response: w, p: "abcdef" }));
  if (toolCall) events.push({ response: "", tool_calls: toolCall } as never);
  events.push({ response: "", usage } as never);
  const body = `${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("")}data: [DONE]\n\n`;
  return new Response(body).body as ReadableStream<Uint8Array>;
}

function vector(text: string, dims: number): number[] {
  return Array.from({ length: dims }, (_, i) => ((text.charCodeAt(i % text.length) * (i + 1)) % 97) / 97);
}
