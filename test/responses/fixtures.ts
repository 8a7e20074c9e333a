import type { FunctionTool } from "openai/resources/responses/responses";

/** The function tool the Responses tests call (strict, one required argument). */
export const WEATHER: FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Current weather for a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
};

/** What the upstream must receive on the second turn of the Lisbon weather tool round trip. */
export const LISBON_TOOL_TURNS = [
  { role: "user", content: "Weather in Lisbon?" },
  {
    role: "assistant",
    content: null,
    tool_calls: [
      {
        id: "call_w1",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Lisbon"}' },
      },
    ],
  },
  { role: "tool", tool_call_id: "call_w1", content: "21C, clear" },
];
