import type { ChatCompletionFunctionTool } from "openai/resources/chat/completions";

/** The function tool the native-provider tests call: one required string parameter. */
export const WEATHER_TOOL: ChatCompletionFunctionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
