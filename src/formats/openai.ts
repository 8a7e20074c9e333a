import * as z from "zod";

/**
 * Inbound OpenAI request schemas. They check what the gateway reads or translates and pass every other
 * field through untouched to providers that accept it.
 */
const contentPart = z.looseObject({ type: z.string().min(1) });

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

const tool = z.looseObject({
  type: z.string(),
  function: z
    .looseObject({ name: z.string().min(1), parameters: z.record(z.string(), z.unknown()).optional() })
    .optional(),
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
