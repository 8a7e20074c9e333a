/**
 * OpenAI-compatible providers as data: where they live and how their streams report usage.
 *
 * `streamUsage`: `include_usage` — the API honours `stream_options.include_usage`, so Sluice asks for it;
 * `always` — the API puts usage in its last chunk unasked and may reject `stream_options`, so Sluice sends none.
 */
export interface Preset {
  baseUrl: string;
  streamUsage: "include_usage" | "always";
}

export const PRESETS = {
  groq: { baseUrl: "https://api.groq.com/openai/v1", streamUsage: "include_usage" },
  mistral: { baseUrl: "https://api.mistral.ai/v1", streamUsage: "always" },
  deepseek: { baseUrl: "https://api.deepseek.com/v1", streamUsage: "include_usage" },
  xai: { baseUrl: "https://api.x.ai/v1", streamUsage: "include_usage" },
  together: { baseUrl: "https://api.together.xyz/v1", streamUsage: "include_usage" },
  fireworks: { baseUrl: "https://api.fireworks.ai/inference/v1", streamUsage: "include_usage" },
  openrouter: { baseUrl: "https://openrouter.ai/api/v1", streamUsage: "include_usage" },
  perplexity: { baseUrl: "https://api.perplexity.ai", streamUsage: "always" },
  cerebras: { baseUrl: "https://api.cerebras.ai/v1", streamUsage: "include_usage" },
  ollama: { baseUrl: "http://127.0.0.1:11434/v1", streamUsage: "include_usage" },
  vllm: { baseUrl: "http://127.0.0.1:8000/v1", streamUsage: "include_usage" },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];
