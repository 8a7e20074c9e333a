import type { Response as OpenAIResponse, ResponseStreamEvent } from "openai/resources/responses/responses";
import { Stream } from "openai/streaming";
import { afterEach, describe, expect, it, vi } from "vitest";
import plainDefault from "../fixtures/codex/plain.default-model.json";
import plain from "../fixtures/codex/plain.json";
import plainWs from "../fixtures/codex/plain.websockets.json";
import toolDefault from "../fixtures/codex/tool.default-model.json";
import tool from "../fixtures/codex/tool.json";
import { gateway } from "../helpers/gateway";
import { type FakeUpstream, installUpstreams } from "../helpers/upstream";
import { newKey } from "../spend/ledger-helpers";

/**
 * The Codex CLI 0.171.0's recorded requests (test/fixtures/codex/, see its README.md) replayed through Sluice to
 * the strict OpenAI chat fake: headers as recorded (minus transport ones; the authorization becomes the Sluice
 * key), bodies byte for byte, the models mapped by aliases.
 */

type Json = Record<string, unknown>;
interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** Headers the transport sets (or that name the recording's server); the fetch below sets its own. */
const TRANSPORT = new Set(["host", "content-length", "accept-encoding", "connection", "authorization"]);

async function setup() {
  vi.spyOn(console, "log").mockImplementation(() => {});
  const net = installUpstreams();
  const openai = net.add("https://api.openai.com", { apiKey: "sk-openai" });
  const g = gateway(
    {
      // The chat target: Responses requests are translated (OpenAI would take them as they are, see passthrough.test.ts).
      providers: { openai: { type: "openai", apiKey: "env:OPENAI_API_KEY", responsesApi: false } },
      models: {
        "gpt-5.1-codex": { targets: [{ provider: "openai", model: "gpt-4.1" }] },
        "gpt-6.2-sol": { targets: [{ provider: "openai", model: "gpt-4.1" }] },
      },
    },
    { OPENAI_API_KEY: "sk-openai" },
  );
  const key = await newKey(g, { name: "codex" });
  const replay = (r: Recorded, body: string = r.body) => {
    const headers = Object.entries(r.headers).filter(([k]) => !TRANSPORT.has(k));
    headers.push(["authorization", `Bearer ${key.secret}`]);
    return g.fetch(r.path, { method: r.method, headers, body });
  };
  return { g, openai, replay, secret: key.secret };
}

/** The events of a Responses stream as the `openai` SDK's SSE parser reads them, and its final Response. */
async function eventsOf(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const events: ResponseStreamEvent[] = [];
  for await (const e of Stream.fromSSEResponse<ResponseStreamEvent>(res, new AbortController()))
    events.push(e);
  const last = events.at(-1);
  if (last?.type !== "response.completed") throw new Error(`the stream ended with ${last?.type}`);
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  return { events, types: events.map((e) => e.type), response: last.response as OpenAIResponse };
}

/** A fixture's requests (plain ones have one; only the first is read of them). */
const requestsOf = (f: { requests: unknown[] }) => f.requests as [Recorded, Recorded];
const at = <T>(xs: readonly T[], i: number): T => {
  const x = xs[i];
  if (x === undefined) throw new Error(`no item ${i}`);
  return x;
};
const bodyOf = (r: Recorded) => JSON.parse(r.body) as Json & { input: Json[]; tools?: Json[] };
const textOf = (item: Json) => (item.content as Json[]).map((p) => String(p.text)).join("");
/** The text of a Response's messages (the SDK's `output_text`, which only its helpers add). */
const outputText = (r: OpenAIResponse) =>
  r.output
    .flatMap((o) => (o.type === "message" ? o.content : []))
    .map((c) => (c.type === "output_text" ? c.text : ""))
    .join("");
const lastChat = (openai: FakeUpstream): Json & { messages: Json[]; tools?: Json[] } => {
  const body = openai.chatRequests.at(-1)?.body;
  if (!body) throw new Error("the upstream got no chat request");
  return body as Json & { messages: Json[]; tools?: Json[] };
};
const toolNames = (chat: { tools?: Json[] }) => (chat.tools ?? []).map((t) => (t.function as Json).name);

/** What Sluice drops of every gpt-5.1-codex request: web_search (tools[8]), include, reasoning.summary, client_metadata. */
const DROPPED = "tools[8],include,reasoning.summary,client_metadata";

describe("Codex with gpt-5.1-codex (plain.json, tool.json) through an OpenAI chat target", () => {
  it("streams a greeting back, with the developer prompts as developer (system) messages and the user items in order", async () => {
    const { g, openai, replay } = await setup();
    openai.reply({ content: "Hello there!" });
    const [req] = requestsOf(plain);
    const res = await replay(req);
    const { types, response } = await eventsOf(res);
    expect(res.headers.get("x-sluice-dropped-params")).toBe(DROPPED);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(response).toMatchObject({ status: "completed", model: "gpt-4.1", store: false });
    expect(response.output).toMatchObject([
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hello there!" }] },
    ]);
    const input = bodyOf(req).input;
    const chat = lastChat(openai);
    expect(chat.model).toBe("gpt-4.1");
    expect(chat.messages).toEqual([
      { role: "developer", content: textOf(at(input, 0)) },
      { role: "developer", content: textOf(at(input, 1)) },
      { role: "user", content: [{ type: "text", text: textOf(at(input, 2)) }] },
      {
        role: "user",
        content: [{ type: "text", text: "Reply with one short greeting. Do not run any commands." }],
      },
    ]);
    expect(chat).toMatchObject({ tool_choice: "auto", parallel_tool_calls: true, stream: true });
    expect(chat.prompt_cache_key).toBe(bodyOf(req).prompt_cache_key);
    await g.settle();
  });

  it("sends exec_command and the other function tools as canonical function tools, namespace tools flattened", async () => {
    const { g, openai, replay } = await setup();
    const [req] = requestsOf(plain);
    await eventsOf(await replay(req));
    const chat = lastChat(openai);
    expect(toolNames(chat)).toEqual([
      "exec_command",
      "write_stdin",
      "request_user_input",
      "view_image",
      "multi_agent_v1__close_agent",
      "multi_agent_v1__resume_agent",
      "multi_agent_v1__send_input",
      "multi_agent_v1__spawn_agent",
      "multi_agent_v1__wait_agent",
      "get_goal",
      "create_goal",
      "update_goal",
    ]);
    const exec = at(bodyOf(req).tools ?? [], 0);
    expect(chat.tools?.[0]).toEqual({
      type: "function",
      function: {
        name: "exec_command",
        description: exec.description,
        parameters: exec.parameters,
        strict: false,
      },
    });
    await g.settle();
  });

  it("runs the tool loop: a scripted exec_command call, then the history as tool_calls and a tool message", async () => {
    const { g, openai, replay } = await setup();
    const [first, second] = requestsOf(tool);
    const args = at(bodyOf(second).input, 5).arguments as string;
    openai.replyOnce({
      content: null,
      toolCalls: [{ id: "call_RecordingCatHello0001", name: "exec_command", arguments: args }],
    });
    const one = await eventsOf(await replay(first));
    expect(one.types).toContain("response.function_call_arguments.done");
    expect(one.response.output).toEqual([
      {
        id: expect.stringMatching(/^fc_/),
        type: "function_call",
        status: "completed",
        arguments: args,
        call_id: "call_RecordingCatHello0001",
        name: "exec_command",
      },
    ]);

    openai.reply({ content: "hello.txt says: Hello from the Sluice recording fixture." });
    const res = await replay(second);
    const two = await eventsOf(res);
    expect(res.headers.get("x-sluice-dropped-params")).toBe(
      `${DROPPED.replace(",include", ",input[4],include")}`,
    );
    expect(outputText(two.response)).toBe("hello.txt says: Hello from the Sluice recording fixture.");
    const input = bodyOf(second).input;
    const chat = lastChat(openai);
    expect(chat.messages).toHaveLength(6);
    expect(chat.messages.slice(4)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_RecordingCatHello0001",
            type: "function",
            function: { name: "exec_command", arguments: args },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_RecordingCatHello0001", content: at(input, 6).output },
    ]);
    await g.settle();
  });

  it("answers a call to a namespace tool with its name and namespace apart, and joins them again in the history", async () => {
    const { g, openai, replay } = await setup();
    const [, second] = requestsOf(tool);
    openai.replyOnce({
      content: null,
      toolCalls: [{ id: "call_s1", name: "multi_agent_v1__spawn_agent", arguments: '{"message":"hi"}' }],
    });
    const { response } = await eventsOf(await replay(second));
    expect(response.output[0]).toMatchObject({
      type: "function_call",
      name: "spawn_agent",
      namespace: "multi_agent_v1",
      call_id: "call_s1",
    });

    const body = bodyOf(second);
    body.input[5] = { ...at(body.input, 5), name: "spawn_agent", namespace: "multi_agent_v1" };
    openai.reply({ content: "Spawned." });
    await eventsOf(await replay(second, JSON.stringify(body)));
    const calls = at(lastChat(openai).messages, 4).tool_calls as Json[];
    expect((at(calls, 0).function as Json).name).toBe("multi_agent_v1__spawn_agent");
    await g.settle();
  });
});

describe("Codex with its default model (additional_tools, custom tools)", () => {
  it("declares the additional_tools' namespaced functions and drops the custom exec tool, listing it", async () => {
    const { g, openai, replay } = await setup();
    openai.reply({ content: "Hi!" });
    const [req] = requestsOf(plainDefault);
    const res = await replay(req);
    const { response } = await eventsOf(res);
    expect(outputText(response)).toBe("Hi!");
    expect(res.headers.get("x-sluice-dropped-params")).toBe(
      "input[0].tools[0].tools[0],include,client_metadata",
    );
    const chat = lastChat(openai);
    expect(toolNames(chat)).toEqual([
      "functions__wait",
      "functions__request_user_input",
      "functions__request_user_input_async",
      "functions__send_message_to_user_async",
      "clock__sleep",
      "collaboration__followup_task",
      "collaboration__interrupt_agent",
      "collaboration__list_agents",
      "collaboration__send_message",
      "collaboration__spawn_agent",
      "collaboration__wait_agent",
    ]);
    expect(chat.messages.map((m) => m.role)).toEqual([
      "developer",
      "developer",
      "developer",
      "developer",
      "user",
      "user",
    ]);
    expect(chat).toMatchObject({ reasoning_effort: "low", verbosity: "low", parallel_tool_calls: false });
    await g.settle();
  });

  it("drops the reasoning item and the custom_tool_call with its output from the tool loop's history", async () => {
    const { g, openai, replay } = await setup();
    openai.reply({ content: "Done." });
    const [, second] = requestsOf(toolDefault);
    const res = await replay(second);
    await eventsOf(res);
    expect(res.headers.get("x-sluice-dropped-params")).toBe(
      "input[0].tools[0].tools[0],input[7],input[8],input[9],include,client_metadata",
    );
    expect(lastChat(openai).messages.map((m) => m.role)).toEqual([
      "developer",
      "developer",
      "developer",
      "developer",
      "user",
      "user",
    ]);
    await g.settle();
  });
});

describe("Codex's WebSocket attempt (plain.websockets.json)", () => {
  it("answers the upgrade with a 404, as the recording's server did (no WebSocket is opened), and then the HTTP request streams", async () => {
    const { g, openai, replay, secret } = await setup();
    const recorded = requestsOf(plainWs);
    const upgrade = at(recorded, 0).headers;
    const headers: [string, string][] = [
      ["connection", "Upgrade"],
      ["upgrade", "websocket"],
      ["sec-websocket-version", "13"],
      ["sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="],
      ["openai-beta", "responses_websockets=2026-02-06"],
      ["originator", String(upgrade.originator)],
      ["user-agent", String(upgrade["user-agent"])],
      ["authorization", `Bearer ${secret}`],
    ];
    const ws = await g.fetch("/v1/responses", { method: "GET", headers });
    // The recording's server answered 404 and Codex fell back to HTTP: Sluice answers the same.
    expect(ws.status).toBe(404);
    expect(ws.headers.get("upgrade")).toBeNull();
    // Any other GET on the path is still a 405.
    const get = await g.fetch("/v1/responses", { headers: { authorization: `Bearer ${secret}` } });
    expect(get.status).toBe(405);
    expect(plainWs.otherPaths).toEqual([
      "GET /v1/responses (upgrade: websocket)",
      "GET /v1/responses (upgrade: websocket)",
    ]);
    openai.reply({ content: "Hello!" });
    const { response } = await eventsOf(await replay(at(recorded, 0)));
    expect(outputText(response)).toBe("Hello!");
    await g.settle();
  });
});
