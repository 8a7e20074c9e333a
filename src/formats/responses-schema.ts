import * as z from "zod";
import { byType } from "./typed";

/**
 * The request schema of OpenAI's Responses API (`POST /v1/responses`, openai 7.57's `ResponseCreateParams`):
 * every top-level parameter it knows, and the fields the translation (responses.ts) reads, checked.
 */

/**
 * Every top-level parameter of `ResponseCreateParams`, and `client_metadata` (which the Codex CLI sends); any other
 * is a 400 `unknown_parameter`, as the API answers.
 */
export const PARAMS = new Set(
  `access_programs background client_metadata context_management conversation image include input instructions max_output_tokens
  max_tool_calls metadata model moderation parallel_tool_calls previous_response_id prompt prompt_cache_key
  prompt_cache_options prompt_cache_retention reasoning safety_identifier service_tier store stream stream_options
  temperature text tool_choice tools top_logprobs top_p truncation user`.split(/\s+/),
);

const inputText = z.looseObject({ text: z.string() });
const inputImage = z.looseObject({
  image_url: z.string().min(1).nullish(),
  file_id: z.string().nullish(),
  detail: z.string().nullish(),
});
const inputFile = z.looseObject({
  file_data: z.string().nullish(),
  file_id: z.string().nullish(),
  file_url: z.string().nullish(),
  filename: z.string().nullish(),
});
const part = byType({
  input_text: inputText,
  input_image: inputImage,
  input_file: inputFile,
  output_text: inputText,
  refusal: z.looseObject({ refusal: z.string() }),
});

const functionTool = z.looseObject({
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

/** A namespace of function (and custom) tools; its function tools are flattened (responses-tools.ts). */
const namespaceTool = z.looseObject({
  name: z.string().min(1),
  tools: z.array(byType({ function: functionTool })),
});

const tools = z.array(byType({ function: functionTool, namespace: namespaceTool }));

/** Input items by type; an item without `type` is a message (`EasyInputMessage`). Other types pass to translation. */
const ITEMS: Record<string, z.ZodType> = {
  message: z.looseObject({
    role: z.enum(["user", "assistant", "system", "developer"]),
    content: z.union([z.string(), z.array(part)]),
  }),
  function_call: z.looseObject({
    call_id: z.string().min(1),
    name: z.string().min(1),
    arguments: z.string(),
    namespace: z.string().min(1).nullish(),
  }),
  additional_tools: z.looseObject({ tools }),
  function_call_output: z.looseObject({
    call_id: z.string({ message: "call_id is required" }).min(1),
    output: z.union([
      z.string(),
      z.array(byType({ input_text: inputText, input_image: inputImage, input_file: inputFile })),
    ]),
  }),
};
const item = z.looseObject({ type: z.string().min(1).optional() }).superRefine((value, ctx) => {
  const schema = ITEMS[value.type ?? "message"];
  const result = schema?.safeParse(value);
  if (result && !result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue });
});

export const responsesRequestSchema = z.looseObject({
  model: z.string({ message: "Missing required parameter: 'model'." }).min(1, "model is required"),
  input: z.union([z.string(), z.array(item)], { message: "Missing required parameter: 'input'." }),
  instructions: z.string().nullish(),
  tools: tools.nullish(),
  tool_choice: z
    .union([
      z.enum(["none", "auto", "required"]),
      byType({
        function: z.looseObject({ name: z.string().min(1) }),
        allowed_tools: z.looseObject({
          mode: z.enum(["auto", "required"]),
          tools: z.array(z.looseObject({ type: z.string().min(1), name: z.string().optional() })),
        }),
      }),
    ])
    .nullish(),
  text: z
    .looseObject({
      format: byType({
        json_schema: z.looseObject({
          name: z.string().min(1),
          schema: z.record(z.string(), z.unknown()),
          description: z.string().nullish(),
          strict: z.boolean().nullish(),
        }),
      }).optional(),
      verbosity: z.enum(["low", "medium", "high"]).nullish(),
    })
    .nullish(),
  reasoning: z
    .looseObject({
      effort: z.string().nullish(),
      summary: z.string().nullish(),
      generate_summary: z.string().nullish(),
    })
    .nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  max_tool_calls: z.number().int().min(0).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  user: z.string().optional(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  background: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  include: z.array(z.string()).nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
  service_tier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.string().nullish(),
  safety_identifier: z.string().nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
