// Records the HTTP requests the Claude Code CLI really sends to the Anthropic API, as golden fixtures under
// test/fixtures/claude-code/ (see the README there). Not part of the build or the tests; run by hand:
//   node scripts/record-claude-code.mjs --claude <path to the `claude` binary>
//     [--scenario plain|tool|all] [--model claude-sonnet-4-5 | default] [--timeout 90] [--out <dir>]
//     [--nonessential] [--keep]
// The CLI is installed outside the repo (e.g. `npm install @anthropic-ai/claude-code@2.1` in /tmp/cc, then
// --claude /tmp/cc/node_modules/.bin/claude). A local server on 127.0.0.1 (random port) plays the Messages API
// with scripted answers; the CLI runs headless against it with a fake API key, a throwaway HOME and config dir
// and a throwaway working directory, so nothing of this machine leaks into the recordings. Writes plain.json and
// tool-loop.json for --model claude-sonnet-4-5, <scenario>.<model>.json for any other model, and
// <scenario>.default-model.json for `--model default` (no --model flag: the CLI's own choice). `--nonessential`
// lets the CLI make its background calls (the session title request) too; `--keep` keeps the temp dir (the CLI's
// stdout.txt / stderr.txt are there). Exits 1 if a scenario did not record.
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The --model whose recordings are <scenario>.json; any other writes <scenario>.<model>.json. */
const FIXTURE_MODEL = "claude-sonnet-4-5";

const { values: opts } = parseArgs({
  options: {
    claude: { type: "string", default: process.env.CLAUDE_BIN ?? "/tmp/cc/node_modules/.bin/claude" },
    scenario: { type: "string", default: "all" },
    model: { type: "string", default: FIXTURE_MODEL },
    timeout: { type: "string", default: "90" },
    out: { type: "string", default: join(root, "test/fixtures/claude-code") },
    keep: { type: "boolean", default: false },
    nonessential: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});

if (opts.help) {
  console.log(
    "usage: node scripts/record-claude-code.mjs --claude <claude binary> [--scenario plain|tool|all] " +
      "[--model <id>|default] [--timeout <s>] [--out <dir>] [--nonessential] [--keep (keep the temp dir)]",
  );
  process.exit(0);
}

const CLAUDE = resolve(opts.claude);
if (!existsSync(CLAUDE)) {
  console.error(`no Claude Code CLI at ${CLAUDE} (pass --claude <path>)`);
  process.exit(2);
}
const TIMEOUT_MS = Number(opts.timeout) * 1000;
const FAKE_KEY = "sk-ant-test-recording";
const MAX_REQUESTS = 200; // the server refuses (500) past this, so a looping CLI ends
const TOOL_USE_ID = "toolu_01RecordingReadNotes0001";
const NOTES_TEXT = "Sluice recording fixture.\nThe secret word is: pelican.\n";

/** Paths of this machine that must not show up in a recording (the temp dir is fine). */
const FORBIDDEN = [
  ...new Set(
    [root, process.cwd(), process.env.HOME, "/work/"].filter(
      (p) => p && p !== "/" && !tmpdir().startsWith(p),
    ),
  ),
];

// ---------------------------------------------------------------------------------------------------------
// The fake Messages API

let msgCounter = 0;
const msgId = () => `msg_01Recording${String(++msgCounter).padStart(10, "0")}`;

/** Text of a message's content (string or blocks), for matching. */
function contentText(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((b) => (b?.type === "text" ? b.text : "")).join("\n");
}

function hasToolResult(body) {
  return (body.messages ?? []).some(
    (m) =>
      m.role === "user" &&
      Array.isArray(m.content) &&
      m.content.some((b) => b?.type === "tool_result" && b.tool_use_id === TOOL_USE_ID),
  );
}

/** The main agent loop's request: its first user message carries the prompt (`mark`), and it has tools. */
function isMainRequest(body, mark) {
  const firstUser = (body.messages ?? []).find((m) => m.role === "user");
  return Array.isArray(body.tools) && body.tools.length > 0 && contentText(firstUser?.content).includes(mark);
}

/**
 * Picks the scripted answer: `{ kind: "text", text }` or `{ kind: "tool_use", name, input }`, with `thinking`
 * (a thinking block to send first) on main-model turns of a request that enables thinking, as the real API
 * would, so the recordings show how the CLI sends thinking blocks back.
 */
function scriptAnswer(scenario, body) {
  if (!isMainRequest(body, scenario.mark)) {
    // background calls (session title…); those asking for JSON output get JSON
    const schema = body.output_config?.format?.schema;
    if (!schema) return { kind: "text", text: "Recording." };
    const props = Object.keys(schema.properties ?? {});
    return {
      kind: "text",
      text: JSON.stringify(Object.fromEntries(props.map((k) => [k, "Recording session"]))),
    };
  }
  const thinks = body.thinking && body.thinking.type !== "disabled";
  const thinking = thinks ? "The user wants a short answer; I follow the instructions." : undefined;
  if (scenario.name === "tool") {
    if (hasToolResult(body))
      return { kind: "text", text: "The notes file says the secret word is pelican.", thinking };
    if ((body.tools ?? []).some((t) => t.name === "Read")) {
      return { kind: "tool_use", name: "Read", input: { file_path: scenario.notesPath }, thinking };
    }
  }
  return { kind: "text", text: "Hello from the recording server.", thinking };
}

function estimateTokens(text) {
  return Math.max(1, Math.ceil(text.length / 4));
}

function usageFor(rawBody) {
  const input = estimateTokens(rawBody);
  return { input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

/** A fake signature, shaped like the API's (opaque base64). */
function signatureFor(text) {
  return Buffer.from(`recording-signature:${text}`).toString("base64");
}

/** The answer's content blocks, complete. */
function contentBlocks(answer) {
  const blocks = [];
  if (answer.thinking) {
    blocks.push({ type: "thinking", thinking: answer.thinking, signature: signatureFor(answer.thinking) });
  }
  blocks.push(
    answer.kind === "tool_use"
      ? { type: "tool_use", id: TOOL_USE_ID, name: answer.name, input: answer.input }
      : { type: "text", text: answer.text },
  );
  return blocks;
}

const stopReason = (answer) => (answer.kind === "tool_use" ? "tool_use" : "end_turn");

function jsonMessage(body, rawBody, answer) {
  return {
    id: msgId(),
    type: "message",
    role: "assistant",
    model: body.model ?? "claude-sonnet-4-5",
    content: contentBlocks(answer),
    stop_reason: stopReason(answer),
    stop_sequence: null,
    usage: { ...usageFor(rawBody), output_tokens: 12 },
  };
}

function sse(res, event, data) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Splits a string in two (for two deltas). */
const halves = (str) => [str.slice(0, Math.floor(str.length / 2)), str.slice(Math.floor(str.length / 2))];

function streamMessage(res, body, rawBody, answer) {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "request-id": `req_01Recording${String(msgCounter + 1).padStart(10, "0")}`,
  });
  const usage = usageFor(rawBody);
  sse(res, "message_start", {
    type: "message_start",
    message: {
      id: msgId(),
      type: "message",
      role: "assistant",
      model: body.model ?? "claude-sonnet-4-5",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1 },
    },
  });
  sse(res, "ping", { type: "ping" });
  for (const [index, block] of contentBlocks(answer).entries()) {
    const delta = (d) => sse(res, "content_block_delta", { type: "content_block_delta", index, delta: d });
    if (block.type === "thinking") {
      sse(res, "content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "thinking", thinking: "", signature: "" },
      });
      for (const part of halves(block.thinking)) delta({ type: "thinking_delta", thinking: part });
      delta({ type: "signature_delta", signature: block.signature });
    } else if (block.type === "tool_use") {
      sse(res, "content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      for (const part of halves(JSON.stringify(block.input)))
        delta({ type: "input_json_delta", partial_json: part });
    } else {
      sse(res, "content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      });
      for (const word of block.text.split(/(?<= )/)) delta({ type: "text_delta", text: word });
    }
    sse(res, "content_block_stop", { type: "content_block_stop", index });
  }
  sse(res, "message_delta", {
    type: "message_delta",
    delta: { stop_reason: stopReason(answer), stop_sequence: null },
    usage: { ...usage, output_tokens: 12 },
  });
  sse(res, "message_stop", { type: "message_stop" });
  res.end();
}

function sendJson(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the fake API; `state.scenario` says how to answer; every request lands in `state.log`. */
function startServer(state) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url, "http://127.0.0.1");
      state.log.push({ method: req.method, path: req.url, headers: { ...req.headers }, body: raw });
      if (state.log.length > MAX_REQUESTS) {
        return sendJson(res, 500, {
          type: "error",
          error: { type: "api_error", message: "too many requests" },
        });
      }
      try {
        if (req.method === "POST" && url.pathname === "/v1/messages/count_tokens") {
          return sendJson(res, 200, { input_tokens: estimateTokens(raw) });
        }
        if (req.method === "POST" && url.pathname === "/v1/messages") {
          const body = JSON.parse(raw);
          const answer = scriptAnswer(state.scenario, body);
          state.answers.push({
            index: state.log.length - 1,
            kind: answer.kind,
            stream: body.stream === true,
          });
          if (body.stream === true) return streamMessage(res, body, raw, answer);
          return sendJson(res, 200, jsonMessage(body, raw, answer));
        }
        return sendJson(res, 404, {
          type: "error",
          error: { type: "not_found_error", message: `Not found: ${req.method} ${url.pathname}` },
        });
      } catch (err) {
        return sendJson(res, 400, {
          type: "error",
          error: { type: "invalid_request_error", message: String(err?.message ?? err) },
        });
      }
    });
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// ---------------------------------------------------------------------------------------------------------
// Running the CLI

function claudeVersion(env) {
  const r = spawnSync(CLAUDE, ["--version"], { env, encoding: "utf8", timeout: 30_000, stdio: "pipe" });
  return (r.stdout ?? "").trim() || `unknown (${(r.stderr ?? "").trim()})`;
}

function baseEnv(tmp, port) {
  const home = join(tmp, "home");
  const config = join(home, ".claude");
  mkdirSync(config, { recursive: true });
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    USER: "recorder",
    LANG: "C.UTF-8",
    TERM: "dumb",
    SHELL: "/bin/bash",
    TMPDIR: join(tmp, "tmp"),
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_DATA_HOME: join(home, ".local/share"),
    XDG_STATE_HOME: join(home, ".local/state"),
    CLAUDE_CONFIG_DIR: config,
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
    ANTHROPIC_API_KEY: FAKE_KEY,
    DISABLE_TELEMETRY: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_ERROR_REPORTING: "1",
    // --nonessential lets the CLI make its background model calls (the session title request) too
    ...(opts.nonessential
      ? {}
      : { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1", DISABLE_NON_ESSENTIAL_MODEL_CALLS: "1" }),
  };
}

/** Runs the CLI once, output to files; resolves `{ code, signal, timedOut, stdout, stderr }`. */
function runClaude(args, { cwd, env, logDir }) {
  const outPath = join(logDir, "stdout.txt");
  const errPath = join(logDir, "stderr.txt");
  const outFd = openSync(outPath, "w");
  const errFd = openSync(errPath, "w");
  const child = spawn(CLAUDE, args, { cwd, env, stdio: ["ignore", outFd, errFd], detached: true });
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
    prompt: () => "Reply with one short greeting. Do not use any tools.",
    args: () => ["--output-format", "json", "--allowedTools", "Read"],
  },
  tool: {
    file: "tool-loop",
    mark: "Read the file notes.txt",
    prompt: (s) => `Read the file notes.txt (${s.notesPath}) and tell me the secret word in it.`,
    args: () => ["--output-format", "stream-json", "--verbose", "--allowedTools", "Read"],
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
    out[name] = name === "x-api-key" || name === "authorization" ? "<key>" : value;
  }
  return out;
}

async function record(name) {
  const scenario = { name, ...SCENARIOS[name] };
  const tmp = mkdtempSync(join(tmpdir(), `cc-rec-${name}-`));
  const work = join(tmp, "project");
  mkdirSync(work, { recursive: true });
  mkdirSync(join(tmp, "tmp"), { recursive: true });
  scenario.notesPath = join(work, "notes.txt");
  writeFileSync(scenario.notesPath, NOTES_TEXT);

  const state = { scenario, log: [], answers: [] };
  const server = await startServer(state);
  const { port } = server.address();
  const env = baseEnv(tmp, port);
  const cli = claudeVersion(env);
  const model = opts.model === "default" ? [] : ["--model", opts.model]; // "default": the CLI's own choice
  const args = ["-p", scenario.prompt(scenario), ...model, ...scenario.args(scenario)];
  console.error(`[${name}] ${cli}; fake API on 127.0.0.1:${port}; cwd ${work}`);
  const result = await runClaude(args, { cwd: work, env, logDir: tmp });
  await new Promise((ok) => server.close(ok));
  server.closeAllConnections?.();

  console.error(
    `[${name}] exit ${result.code}${result.signal ? ` (${result.signal})` : ""}${result.timedOut ? " TIMED OUT" : ""}; ` +
      `${state.log.length} requests`,
  );
  for (const [i, r] of state.log.entries()) {
    const a = state.answers.find((x) => x.index === i);
    console.error(
      `  ${r.method} ${r.path} (${r.body.length} B)${a ? ` -> ${a.kind}${a.stream ? " (SSE)" : ""}` : ""}`,
    );
  }
  if (result.code !== 0 || result.timedOut) {
    console.error(
      `--- stdout ---\n${result.stdout.slice(-4000)}\n--- stderr ---\n${result.stderr.slice(-4000)}`,
    );
  }

  const isApi = (p) => {
    const path = p.split("?")[0];
    return path === "/v1/messages" || path === "/v1/messages/count_tokens";
  };
  const requests = state.log
    .filter((r) => isApi(r.path))
    .map((r) => ({ method: r.method, path: r.path, headers: scrubHeaders(r.headers), body: r.body }));
  const otherPaths = state.log.filter((r) => !isApi(r.path)).map((r) => `${r.method} ${r.path}`);
  const fixture = { cli, modelFlag: opts.model, recordedAt: new Date().toISOString(), requests, otherPaths };

  const text = `${JSON.stringify(fixture, null, 2)}\n`;
  const outsideTmp = text.split(tmp).join("<tmp>"); // the temp dir's own paths are fine
  const leaks = FORBIDDEN.filter((p) => outsideTmp.includes(p));
  if (text.includes(FAKE_KEY)) leaks.push("the API key");
  const suffix =
    opts.model === FIXTURE_MODEL ? "" : `.${opts.model === "default" ? "default-model" : opts.model}`;
  const file = join(opts.out, `${scenario.file}${suffix}.json`);
  let ok = result.code === 0 && !result.timedOut && requests.length > 0 && leaks.length === 0;
  if (name === "tool" && !state.answers.some((a) => a.kind === "tool_use")) {
    console.error(`[${name}] the CLI never got the tool_use answer`);
    ok = false;
  }
  if (
    name === "tool" &&
    !requests.some((r) => r.body.includes(TOOL_USE_ID) && r.body.includes("tool_result"))
  ) {
    console.error(`[${name}] no request carried the tool_result`);
    ok = false;
  }
  if (leaks.length) {
    writeFileSync(join(tmp, "rejected.json"), text);
    console.error(
      `[${name}] refusing to write: the recording contains ${leaks.join(", ")} (see rejected.json)`,
    );
    opts.keep = true;
  }

  if (ok) {
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(file, text);
    formatJson(file);
    console.error(`[${name}] wrote ${file}`);
  }
  if (opts.keep) console.error(`[${name}] kept ${tmp}`);
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
