// Records the HTTP requests the OpenAI Codex CLI really sends to a custom model provider's Responses API, as
// golden fixtures under test/fixtures/codex/ (see the README there). Not part of the build or the tests; run by
// hand (Node 22):
//   node scripts/record-codex.mjs [--codex <path to bin/codex or bin/codex.js>] [--scenario plain|tool|all]
//     [--model gpt-5.1-codex | default] [--sandbox read-only|workspace-write|danger-full-access]
//     [--websockets] [--timeout 90] [--out <dir>] [--keep]
// The CLI is installed outside the repo (`npm install @openai/codex` in /tmp/codex, then
// --codex /tmp/codex/node_modules/@openai/codex/bin/codex.js, the default). A local server on 127.0.0.1 (random
// port) plays OpenAI's Responses API (`POST /v1/responses`, streamed as SSE) with scripted answers; `codex exec`
// runs headless against it through a custom provider (`model_provider = "sluicerec"`, wire_api "responses") with
// a fake key in SLUICE_KEY, a throwaway HOME, CODEX_HOME (its config.toml) and working directory, so nothing of
// this machine leaks into the recordings. Anything else the CLI calls (model list, WebSocket upgrades…) is logged
// and refused with a 404. Writes plain.json and tool.json for --model gpt-5.1-codex, <scenario>.<model>.json
// for any other model and <scenario>.default-model.json for `--model default` (no model set: the CLI's own
// choice); `--websockets` sets `supports_websockets = true` on the provider (the CLI then tries a WebSocket
// upgrade first, which the server refuses) and adds `.websockets` to the file name. `--keep` keeps the temp dir
// (the CLI's stdout.txt / stderr.txt and config are there). Exits 1 if a scenario did not record; a failed
// scenario's temp dir is always kept (failed.json there holds what was recorded).
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as zlib from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The --model whose recordings are <scenario>.json; any other writes <scenario>.<model>.json. */
const FIXTURE_MODEL = "gpt-5.1-codex";

const { values: opts } = parseArgs({
  options: {
    codex: {
      type: "string",
      default: process.env.CODEX_BIN ?? "/tmp/codex/node_modules/@openai/codex/bin/codex.js",
    },
    scenario: { type: "string", default: "all" },
    model: { type: "string", default: FIXTURE_MODEL },
    sandbox: { type: "string", default: "read-only" },
    timeout: { type: "string", default: "90" },
    out: { type: "string", default: join(root, "test/fixtures/codex") },
    keep: { type: "boolean", default: false },
    websockets: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});

if (opts.help) {
  console.log(
    "usage: node scripts/record-codex.mjs [--codex <bin/codex(.js)>] [--scenario plain|tool|all] " +
      "[--model <id>|default] [--sandbox <mode>] [--websockets] [--timeout <s>] [--out <dir>] " +
      "[--keep (keep the temp dir)]",
  );
  process.exit(0);
}

const CODEX = resolve(opts.codex);
if (!existsSync(CODEX)) {
  console.error(`no Codex CLI at ${CODEX} (pass --codex <path>)`);
  process.exit(2);
}
/** bin/codex.js (the npm wrapper) runs under this Node; the native binary runs as is. */
const CODEX_CMD = realpathSync(CODEX).endsWith(".js") ? [process.execPath, CODEX] : [CODEX];
const TIMEOUT_MS = Number(opts.timeout) * 1000;
const KEY_ENV = "SLUICE_KEY";
const FAKE_KEY = "sk-sluice-recording";
const PROVIDER = "sluicerec";
const MAX_REQUESTS = 100; // the server refuses (500) past this, so a looping CLI ends
const CALL_ID = "call_RecordingCatHello0001";
const HELLO_TEXT = "Hello from the Sluice recording fixture. The secret word is: pelican.\n";

/** Where the CLI is installed: the folder holding its node_modules (or the binary's folder). */
function installRoot(bin) {
  const at = bin.indexOf("/node_modules/");
  return at > 0 ? bin.slice(0, at) : dirname(bin);
}

/** Paths of this machine that must not show up in a recording at all (the temp dir is fine). */
const FORBIDDEN = [
  ...new Set(
    [root, process.cwd(), "/work/", installRoot(realpathSync(CODEX))].filter(
      (p) => p && p !== "/" && !tmpdir().startsWith(p),
    ),
  ),
];
/**
 * Home directories: a path under one is a leak when it exists here (`/root/.codex`…). Not every mention is: the
 * CLI names its agents "/root", "/root/task1"…
 */
const HOMES = [...new Set([process.env.HOME, "/root"].filter((p) => p && p !== "/"))];

/** What of this machine a recording's text shows, outside the temp dir `tmp`. */
function findLeaks(text, tmp) {
  const outsideTmp = text.split(tmp).join("<tmp>");
  const leaks = FORBIDDEN.filter((p) => outsideTmp.includes(p));
  for (const home of HOMES) {
    const re = new RegExp(`${home.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/[\\w.-]+`, "g");
    for (const m of new Set(outsideTmp.match(re) ?? [])) if (existsSync(m)) leaks.push(m);
  }
  return leaks;
}

// ---------------------------------------------------------------------------------------------------------
// The fake Responses API

let idCounter = 0;
const newId = (prefix) => `${prefix}_Recording${String(++idCounter).padStart(10, "0")}`;

/** Plain text of one input item's content (string or parts), for matching. */
function itemText(item) {
  const c = item?.content;
  if (typeof c === "string") return c;
  if (!Array.isArray(c)) return "";
  return c.map((p) => (typeof p?.text === "string" ? p.text : "")).join("\n");
}

function hasCallOutput(body) {
  return (body.input ?? []).some(
    (it) => typeof it?.type === "string" && it.type.endsWith("_output") && it.call_id === CALL_ID,
  );
}

/** The main agent turn: a user input item carries the prompt (`mark`). */
function isMainRequest(body, mark) {
  return (body.input ?? []).some((it) => it?.role === "user" && itemText(it).includes(mark));
}

/** A custom (freeform) tool by name, in `tools` or an `additional_tools` input item, with its namespace. */
function findCustomTool(body, name) {
  const lists = [body.tools ?? []];
  for (const it of body.input ?? []) if (it?.type === "additional_tools") lists.push(it.tools ?? []);
  const walk = (tools, namespace, depth) => {
    for (const t of tools) {
      if (t?.type === "custom" && t.name === name) return { namespace };
      if (t?.type === "namespace" && Array.isArray(t.tools) && depth < 4) {
        const found = walk(t.tools, t.name, depth + 1);
        if (found) return found;
      }
    }
    return null;
  };
  for (const tools of lists) {
    const found = walk(tools, undefined, 0);
    if (found) return found;
  }
  return null;
}

/** The tool to run `cat hello.txt` with, and its arguments, from what the request declares. */
function pickShellCall(body, workDir) {
  const tools = body.tools ?? [];
  const fn = (name) => tools.find((t) => t?.type === "function" && t.name === name);
  for (const name of ["shell", "shell_command", "exec_command", "local_shell", "container.exec"]) {
    const tool = fn(name);
    if (!tool) continue;
    const props = tool.parameters?.properties ?? {};
    const args = {};
    const cmdKey = "command" in props ? "command" : "cmd" in props ? "cmd" : null;
    if (!cmdKey) continue;
    args[cmdKey] = props[cmdKey]?.type === "array" ? ["cat", "hello.txt"] : "cat hello.txt";
    if ("workdir" in props) args.workdir = workDir;
    return { kind: "function_call", name, arguments: JSON.stringify(args) };
  }
  // "code mode" (the CLI's catalog models): no `tools`, but an `additional_tools` input item whose namespaces
  // hold a freeform (custom) `exec` tool that runs JavaScript calling the nested tools (`tools.exec_command`)
  const exec = findCustomTool(body, "exec");
  if (exec) {
    const cmd = JSON.stringify({ cmd: "cat hello.txt", workdir: workDir });
    return {
      kind: "custom_tool_call",
      name: "exec",
      namespace: exec.namespace,
      input: `const r = await tools.exec_command(${cmd});\ntext(r.output);\n`,
    };
  }
  if (tools.some((t) => t?.type === "local_shell")) {
    return {
      kind: "local_shell_call",
      action: { type: "exec", command: ["cat", "hello.txt"], working_directory: workDir },
    };
  }
  return null;
}

/**
 * Picks the scripted answer: `{ kind: "text", text }`, `{ kind: "function_call", name, arguments }`,
 * `{ kind: "custom_tool_call", name, namespace, input }` or `{ kind: "local_shell_call", action }`, with `reasoning` (a reasoning item to send first) whenever the request
 * asks for reasoning, as the real API would, so the recordings show how the CLI sends reasoning back.
 */
function scriptAnswer(scenario, body) {
  const reasoning = body.reasoning ? "The user wants a short answer; I follow the instructions." : undefined;
  if (!isMainRequest(body, scenario.mark)) return { kind: "text", text: "Recording.", reasoning };
  if (scenario.name === "tool") {
    if (hasCallOutput(body))
      return { kind: "text", text: "hello.txt says the secret word is pelican.", reasoning };
    const call = pickShellCall(body, scenario.workDir);
    if (call) return { ...call, reasoning };
  }
  return { kind: "text", text: "Hello from the recording server.", reasoning };
}

const estimateTokens = (text) => Math.max(1, Math.ceil(text.length / 4));

function usageFor(rawBody, reasoning) {
  const input = estimateTokens(rawBody);
  const reasoningTokens = reasoning ? 8 : 0;
  const output = 12 + reasoningTokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: input + output,
  };
}

/** A fake encrypted reasoning blob, shaped like the API's (opaque base64). */
const encryptedFor = (text) => Buffer.from(`recording-encrypted-reasoning:${text}`).toString("base64");

/** Splits a string in two (for two deltas). */
const halves = (str) => [str.slice(0, Math.floor(str.length / 2)), str.slice(Math.floor(str.length / 2))];

/** The response object (as in response.created / response.completed), echoing the request's settings. */
function responseObject(id, body, status, output, usage) {
  return {
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: body.model ?? FIXTURE_MODEL,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    service_tier: "default",
    store: body.store ?? false,
    temperature: 1,
    text: body.text ?? { format: { type: "text" }, verbosity: "medium" },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: 1,
    truncation: "disabled",
    usage,
    user: null,
    metadata: {},
  };
}

/** Streams the answer as the Responses API does; returns the event types sent. */
function streamResponse(res, body, rawBody, answer) {
  const respId = newId("resp");
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-request-id": newId("req"),
    "openai-processing-ms": "5",
  });
  let seq = 0;
  const sent = [];
  const sse = (type, data) => {
    sent.push(type);
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: seq++ })}\n\n`);
  };
  sse("response.created", { response: responseObject(respId, body, "in_progress", [], null) });
  sse("response.in_progress", { response: responseObject(respId, body, "in_progress", [], null) });

  const output = [];
  const item = (added, done, between) => {
    const output_index = output.length;
    sse("response.output_item.added", { output_index, item: added });
    between(output_index);
    sse("response.output_item.done", { output_index, item: done });
    output.push(done);
  };

  if (answer.reasoning) {
    const id = newId("rs");
    const text = answer.reasoning;
    const enc = encryptedFor(text);
    item(
      { id, type: "reasoning", summary: [], encrypted_content: enc },
      { id, type: "reasoning", summary: [{ type: "summary_text", text }], encrypted_content: enc },
      (output_index) => {
        const base = { item_id: id, output_index, summary_index: 0 };
        sse("response.reasoning_summary_part.added", { ...base, part: { type: "summary_text", text: "" } });
        for (const part of halves(text))
          sse("response.reasoning_summary_text.delta", { ...base, delta: part });
        sse("response.reasoning_summary_text.done", { ...base, text });
        sse("response.reasoning_summary_part.done", { ...base, part: { type: "summary_text", text } });
      },
    );
  }

  if (answer.kind === "function_call") {
    const id = newId("fc");
    const call = { id, type: "function_call", call_id: CALL_ID, name: answer.name };
    item(
      { ...call, status: "in_progress", arguments: "" },
      { ...call, status: "completed", arguments: answer.arguments },
      (output_index) => {
        for (const part of halves(answer.arguments))
          sse("response.function_call_arguments.delta", { item_id: id, output_index, delta: part });
        sse("response.function_call_arguments.done", {
          item_id: id,
          output_index,
          arguments: answer.arguments,
        });
      },
    );
  } else if (answer.kind === "custom_tool_call") {
    const id = newId("ctc");
    const call = {
      id,
      type: "custom_tool_call",
      call_id: CALL_ID,
      ...(answer.namespace ? { namespace: answer.namespace } : {}),
      name: answer.name,
    };
    item(
      { ...call, status: "in_progress", input: "" },
      { ...call, status: "completed", input: answer.input },
      (output_index) => {
        for (const part of halves(answer.input))
          sse("response.custom_tool_call_input.delta", { item_id: id, output_index, delta: part });
        sse("response.custom_tool_call_input.done", { item_id: id, output_index, input: answer.input });
      },
    );
  } else if (answer.kind === "local_shell_call") {
    const id = newId("lsh");
    const call = { id, type: "local_shell_call", call_id: CALL_ID, action: answer.action };
    item({ ...call, status: "in_progress" }, { ...call, status: "completed" }, () => {});
  } else {
    const id = newId("msg");
    const text = answer.text;
    const msg = { id, type: "message", role: "assistant" };
    const part = { type: "output_text", annotations: [], logprobs: [], text };
    item(
      { ...msg, status: "in_progress", content: [] },
      { ...msg, status: "completed", content: [part] },
      (output_index) => {
        const base = { item_id: id, output_index, content_index: 0 };
        sse("response.content_part.added", { ...base, part: { ...part, text: "" } });
        for (const word of text.split(/(?<= )/))
          sse("response.output_text.delta", { ...base, delta: word, logprobs: [] });
        sse("response.output_text.done", { ...base, text, logprobs: [] });
        sse("response.content_part.done", { ...base, part });
      },
    );
  }

  sse("response.completed", {
    response: responseObject(respId, body, "completed", output, usageFor(rawBody, answer.reasoning)),
  });
  res.end();
  return sent;
}

function sendJson(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const notFound = (method, path) => ({
  error: { message: `Not found: ${method} ${path}`, type: "invalid_request_error", param: null, code: null },
});

/** The request body as text, undoing any content-encoding (the raw bytes' encoding is noted in the log). */
function decodeBody(buf, encoding) {
  const enc = (encoding ?? "").trim().toLowerCase();
  if (!enc || enc === "identity") return buf.toString("utf8");
  if (enc === "zstd" && zlib.zstdDecompressSync) return zlib.zstdDecompressSync(buf).toString("utf8");
  if (enc === "gzip") return zlib.gunzipSync(buf).toString("utf8");
  if (enc === "br") return zlib.brotliDecompressSync(buf).toString("utf8");
  if (enc === "deflate") return zlib.inflateSync(buf).toString("utf8");
  throw new Error(`unknown content-encoding ${enc}`);
}

/** Starts the fake API; `state.scenario` says how to answer; every request lands in `state.log`. */
function startServer(state) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const buf = Buffer.concat(chunks);
      const url = new URL(req.url, "http://127.0.0.1");
      const entry = { method: req.method, path: req.url, headers: { ...req.headers }, bytes: buf.length };
      state.log.push(entry);
      if (state.log.length > MAX_REQUESTS) {
        return sendJson(res, 500, { error: { message: "too many requests", type: "server_error" } });
      }
      try {
        entry.body = decodeBody(buf, req.headers["content-encoding"]);
        if (req.method === "POST" && url.pathname === "/v1/responses") {
          const body = JSON.parse(entry.body);
          const answer = scriptAnswer(state.scenario, body);
          entry.answer = answer.kind;
          if (body.stream !== true) {
            entry.answer += " (refused: not stream)";
            return sendJson(res, 400, {
              error: { message: "recording server only streams", type: "invalid_request_error" },
            });
          }
          entry.events = streamResponse(res, body, entry.body, answer);
          return;
        }
        return sendJson(res, 404, notFound(req.method, url.pathname));
      } catch (err) {
        entry.error = String(err?.message ?? err);
        return sendJson(res, 400, { error: { message: entry.error, type: "invalid_request_error" } });
      }
    });
  });
  // A WebSocket upgrade (Responses over WebSocket): log it and refuse, so the CLI falls back to HTTP.
  server.on("upgrade", (req, socket) => {
    state.log.push({
      method: req.method,
      path: req.url,
      headers: { ...req.headers },
      body: "",
      bytes: 0,
      upgrade: req.headers.upgrade ?? "?",
    });
    const text = JSON.stringify(notFound(req.method, req.url));
    socket.end(
      `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n` +
        `connection: close\r\n\r\n${text}`,
    );
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// ---------------------------------------------------------------------------------------------------------
// Running the CLI

function codexVersion(env) {
  const [cmd, ...pre] = CODEX_CMD;
  const r = spawnSync(cmd, [...pre, "--version"], { env, encoding: "utf8", timeout: 30_000, stdio: "pipe" });
  return (r.stdout ?? "").trim() || `unknown (${(r.stderr ?? "").trim()})`;
}

/** A TOML basic string. */
const tomlStr = (s) => JSON.stringify(s);

function writeConfig(codexHome, port) {
  const lines = [
    ...(opts.model === "default" ? [] : [`model = ${tomlStr(opts.model)}`]),
    `model_provider = ${tomlStr(PROVIDER)}`,
    `approval_policy = "never"`,
    `sandbox_mode = ${tomlStr(opts.sandbox)}`,
    "check_for_update_on_startup = false",
    "",
    "[analytics]",
    "enabled = false",
    "",
    "[feedback]",
    "enabled = false",
    "",
    "[history]",
    `persistence = "none"`,
    "",
    `[model_providers.${PROVIDER}]`,
    `name = "rec"`,
    `base_url = ${tomlStr(`http://127.0.0.1:${port}/v1`)}`,
    `env_key = ${tomlStr(KEY_ENV)}`,
    `wire_api = "responses"`,
    "request_max_retries = 0",
    "stream_max_retries = 0",
    ...(opts.websockets ? ["supports_websockets = true"] : []),
    "",
  ];
  writeFileSync(join(codexHome, "config.toml"), lines.join("\n"));
}

function baseEnv(tmp) {
  const home = join(tmp, "home");
  const codexHome = join(home, ".codex");
  mkdirSync(codexHome, { recursive: true });
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    USER: "recorder",
    LOGNAME: "recorder",
    LANG: "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
    SHELL: "/bin/bash",
    TMPDIR: join(tmp, "tmp"),
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_DATA_HOME: join(home, ".local/share"),
    XDG_STATE_HOME: join(home, ".local/state"),
    CODEX_HOME: codexHome,
    [KEY_ENV]: FAKE_KEY,
  };
}

/** Runs the CLI once, output to files; resolves `{ code, signal, timedOut, stdout, stderr }`. */
function runCodex(args, { cwd, env, logDir }) {
  const outPath = join(logDir, "stdout.txt");
  const errPath = join(logDir, "stderr.txt");
  const outFd = openSync(outPath, "w");
  const errFd = openSync(errPath, "w");
  const [cmd, ...pre] = CODEX_CMD;
  const child = spawn(cmd, [...pre, ...args], { cwd, env, stdio: ["ignore", outFd, errFd], detached: true });
  closeSync(outFd);
  closeSync(errFd);
  return new Promise((ok) => {
    let timedOut = false;
    const killGroup = (sig) => {
      try {
        process.kill(-child.pid, sig);
      } catch {}
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup("SIGTERM");
      setTimeout(() => killGroup("SIGKILL"), 5000).unref();
    }, TIMEOUT_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      killGroup("SIGKILL"); // helpers it left behind (its process group only)
      ok({
        code,
        signal,
        timedOut,
        stdout: readFileSync(outPath, "utf8"),
        stderr: readFileSync(errPath, "utf8"),
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios

const SCENARIOS = {
  plain: {
    file: "plain",
    mark: "Reply with one short greeting",
    prompt: () => "Reply with one short greeting. Do not run any commands.",
  },
  tool: {
    file: "tool",
    mark: "Run `cat hello.txt`",
    prompt: () => "Run `cat hello.txt` in the current directory and tell me the secret word in it.",
  },
};

/** Lays a written JSON file out as the repo's formatter (biome) wants it, when biome is installed. */
function formatJson(file) {
  const biome = join(root, "node_modules/.bin/biome");
  if (!existsSync(biome)) return console.error(`(no ${biome}: ${file} left as JSON.stringify wrote it)`);
  const r = spawnSync(biome, ["format", "--write", file], { cwd: root, encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) console.error(`biome format ${file} failed:\n${r.stdout}${r.stderr}`);
}

function scrubHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = name === "authorization" || name === "x-api-key" || name === "api-key" ? "<key>" : value;
  }
  return out;
}

async function record(name) {
  const scenario = { name, ...SCENARIOS[name] };
  const tmp = mkdtempSync(join(tmpdir(), `codex-rec-${name}-`));
  const work = join(tmp, "project");
  mkdirSync(work, { recursive: true });
  mkdirSync(join(tmp, "tmp"), { recursive: true });
  scenario.workDir = work;
  writeFileSync(join(work, "hello.txt"), HELLO_TEXT);

  const state = { scenario, log: [] };
  const server = await startServer(state);
  const { port } = server.address();
  const env = baseEnv(tmp);
  writeConfig(env.CODEX_HOME, port);
  const cli = codexVersion(env);
  const args = [
    "exec",
    "--strict-config", // a config key this version does not know fails the run instead of being ignored
    "--skip-git-repo-check",
    "--color",
    "never",
    "--json",
    "-C",
    work,
    scenario.prompt(scenario),
  ];
  console.error(`[${name}] ${cli}; fake API on 127.0.0.1:${port}; cwd ${work}`);
  const result = await runCodex(args, { cwd: work, env, logDir: tmp });
  server.closeAllConnections?.();
  await new Promise((ok) => server.close(ok));

  console.error(
    `[${name}] exit ${result.code}${result.signal ? ` (${result.signal})` : ""}${result.timedOut ? " TIMED OUT" : ""}; ` +
      `${state.log.length} requests`,
  );
  for (const r of state.log) {
    const how = r.upgrade ? ` (upgrade: ${r.upgrade})` : r.answer ? ` -> ${r.answer}` : "";
    const auth = r.headers.authorization;
    const authForm = auth ? `; authorization: ${auth.split(FAKE_KEY).join("<key>")}` : "; no authorization";
    console.error(
      `  ${r.method} ${r.path} (${r.bytes} B)${how}${authForm}${r.error ? ` ERROR ${r.error}` : ""}`,
    );
    if (r.upgrade) console.error(`    ${JSON.stringify(scrubHeaders(r.headers))}`);
  }
  if (result.code !== 0 || result.timedOut) {
    console.error(
      `--- stdout ---\n${result.stdout.slice(-4000)}\n--- stderr ---\n${result.stderr.slice(-4000)}`,
    );
  }

  const isApi = (r) => !r.upgrade && r.method === "POST" && r.path.split("?")[0] === "/v1/responses";
  const requests = state.log
    .filter(isApi)
    .map((r) => ({ method: r.method, path: r.path, headers: scrubHeaders(r.headers), body: r.body }));
  const otherPaths = state.log
    .filter((r) => !isApi(r))
    .map((r) => `${r.method} ${r.path}${r.upgrade ? ` (upgrade: ${r.upgrade})` : ""}`);
  const fixture = { cli, recordedAt: new Date().toISOString(), requests, otherPaths };

  const text = `${JSON.stringify(fixture, null, 2)}\n`;
  const leaks = findLeaks(text, tmp);
  if (text.includes(FAKE_KEY)) leaks.push("the API key");
  const suffix =
    (opts.model === FIXTURE_MODEL ? "" : `.${opts.model === "default" ? "default-model" : opts.model}`) +
    (opts.websockets ? ".websockets" : "");
  const file = join(opts.out, `${scenario.file}${suffix}.json`);
  let ok = result.code === 0 && !result.timedOut && requests.length > 0 && leaks.length === 0;
  if (name === "tool" && !state.log.some((r) => /_call$/.test(r.answer ?? ""))) {
    console.error(`[${name}] the CLI never got the tool call answer`);
    ok = false;
  }
  if (name === "tool" && !requests.some((r) => r.body.includes(CALL_ID) && r.body.includes("_output"))) {
    console.error(`[${name}] no request carried the call's output`);
    ok = false;
  }
  if (leaks.length) {
    writeFileSync(join(tmp, "rejected.json"), text);
    console.error(
      `[${name}] refusing to write: the recording contains ${leaks.join(", ")} (see rejected.json)`,
    );
    opts.keep = true;
  }
  if (!ok) writeFileSync(join(tmp, "failed.json"), text);

  if (ok) {
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(file, text);
    formatJson(file);
    console.error(`[${name}] wrote ${file}`);
  }
  if (opts.keep || !ok) console.error(`[${name}] kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
  return ok;
}

const names = opts.scenario === "all" ? Object.keys(SCENARIOS) : [opts.scenario];
let failed = 0;
for (const name of names) {
  if (!SCENARIOS[name]) {
    console.error(`unknown scenario ${name} (plain, tool, all)`);
    process.exit(2);
  }
  if (!(await record(name))) failed++;
}
process.exit(failed ? 1 : 0);
