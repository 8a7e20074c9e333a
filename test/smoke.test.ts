import { describe, expect, it } from "vitest";
import { gateway, post } from "./helpers/gateway";
import { openaiFor } from "./helpers/sdk";

describe("smoke", () => {
  it("answers a chat through the default mock config", async () => {
    const g = gateway();
    const key = await g.createKey();
    const res = await g.fetch(
      "/v1/chat/completions",
      post({ model: "mock/echo", messages: [{ role: "user", content: "hi" }] }, key),
    );
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(res.status).toBe(200);
    expect(body.choices[0]?.message.content).toBe("You said: hi");
    const oa = openaiFor(g, key);
    const stream = await oa.chat.completions.create({
      model: "demo",
      messages: [{ role: "user", content: "yo" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("You said: yo");
    await g.settle();
  });
});
