import * as z from "zod";
import { byType } from "./typed";

/**
 * Inbound OpenAI request schemas. They check what the gateway reads or translates (so a translator never
 * meets a value of the wrong type) and pass every other field through untouched to providers that accept it.
 */
const contentPart = byType({
  text: z.looseObject({ text: z.string() }),
  refusal: z.looseObject({ refusal: z.string() }),
  image_url: z.looseObject({
    image_url: z.looseObject({ url: z.string().min(1), detail: z.string().optional() }),
  }),
  input_audio: z.looseObject({ input_audio: z.looseObject({ data: z.string(), format: z.string() }) }),
  file: z.looseObject({
    file: z.looseObject({
      file_data: z.string().optional(),
      file_id: z.string().optional(),
      filename: z.string().optional(),
    }),
  }),
});

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  byType({
    function: z.looseObject({ function: z.looseObject({ name: z.string().min(1) }) }),
    custom: z.looseObject({ custom: z.looseObject({ name: z.string().min(1) }) }),
    allowed_tools: z.looseObject({
      allowed_tools: z.looseObject({ mode: z.string(), tools: z.array(z.looseObject({ type: z.string() })) }),
    }),
  }),
]);

const responseFormat = byType({
  json_schema: z.looseObject({
    json_schema: z.looseObject({
      name: z.string().min(1),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
});

const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
  tool_calls: z
    .array(
      z.looseObject({
        id: z.string(),
        type: z.string(),
        function: z.looseObject({ name: z.string(), arguments: z.string() }),
      }),
    )
    .optional(),
});

/** A function tool is checked; other tool types (custom, built-in) pass through. */
const tool = byType({
  function: z.looseObject({
    function: z.looseObject({
      name: z.string().min(1),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
});

export const chatRequestSchema = z.looseObject({
  model: z.string({ message: "model is required" }).min(1, "model is required"),
  messages: z
    .array(message, { message: "messages must be an array of messages" })
    .min(1, "messages must not be empty"),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  response_format: responseFormat.nullish(),
  reasoning_effort: z.string().nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  user: z.string().optional(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;

export const embeddingsRequestSchema = z.looseObject({
  model: z.string({ message: "model is required" }).min(1, "model is required"),
  input: z.union(
    [
      z.string(),
      z.array(z.string()).min(1),
      z.array(z.number().int()).min(1),
      z.array(z.array(z.number().int()).min(1)).min(1),
    ],
    { message: "input must be a string, an array of strings, or token arrays" },
  ),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().min(1).optional(),
  user: z.string().optional(),
});

export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;
