import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { createApp } from "../../src/app";
import { byType } from "../../src/formats/typed";
import { ADMIN_TOKEN, gateway, post } from "../helpers/gateway";

type Json = Record<string, unknown>;
interface Doc {
  paths: Record<string, Record<string, Json>>;
  components: { responses: Record<string, Json> };
}

/**
 * Handlers the app mounts that are no operations of their own: `ALL` entries (the middleware and the 405
 * answers to other methods on the proxied paths), wildcard paths, and the WebSocket-upgrade probe on
 * `GET /v1/responses`, which only ever answers 404.
 */
const FALLBACKS = new Set(["GET /v1/responses"]);

/** Every `METHOD /path` the Hono app mounts, in OpenAPI's path syntax (`:id` → `{id}`, `:model{.+}` → `{model}`). */
function mountedRoutes(): string[] {
  const routes = createApp()
    .routes.filter((r) => r.method !== "ALL" && !r.path.includes("*"))
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}")}`)
    .filter((r) => !FALLBACKS.has(r));
  return [...new Set(routes)].sort();
}

const documented = (doc: Doc) =>
  Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();

const ID = "https://sluice.test/openapi.json";

/** A 2020-12 validator holding the document, so `#/components/...` references resolve inside it. */
function validatorOf(doc: Doc) {
  const ajv = new Ajv2020({ allErrors: true });
  addFormats(ajv);
  ajv.addVocabulary(["openapi", "info", "tags", "paths", "components"]);
  ajv.addSchema({ ...doc, $id: ID });
  return (ref: string) => ajv.compile({ $ref: `${ID}${ref}` });
}

/** The `$ref` of an operation's JSON request body schema. */
function bodyRef(doc: Doc, method: string, path: string): string {
  const op = doc.paths[path]?.[method] as
    | { requestBody: { content: Record<string, { schema: { $ref: string } }> } }
    | undefined;
  const ref = op?.requestBody.content["application/json"]?.schema.$ref;
  if (!ref) throw new Error(`${method} ${path} has no JSON request body in the document`);
  return ref;
}

/** The schema `$ref` of an operation's error response for a status (through its `components.responses` entry). */
function errorRef(doc: Doc, method: string, path: string, status: number): string {
  const responses = doc.paths[path]?.[method]?.responses as Record<string, { $ref?: string }> | undefined;
  const name = responses?.[status]?.$ref?.split("/").at(-1);
  const entry = name ? doc.components.responses[name] : undefined;
  const ref = (entry?.content as Record<string, { schema: { $ref: string } }> | undefined)?.[
    "application/json"
  ]?.schema.$ref;
  if (!ref) throw new Error(`${method} ${path} documents no JSON error for ${status}`);
  return ref;
}

async function documentOf(): Promise<{ doc: Doc; res: Response }> {
  const res = await gateway().fetch("/openapi.json");
  return { res, doc: (await res.clone().json()) as Doc };
}

const admin = (body: unknown) => post(body, undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });

describe("GET /openapi.json", () => {
  it("serves an OpenAPI 3.1 document without auth, cacheable", async () => {
    const { res, doc } = await documentOf();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("cache-control")).toContain("public");
    expect((doc as unknown as Json).openapi).toBe("3.1.0");
  });

  it("documents every route the app mounts, and none it does not", async () => {
    const { doc } = await documentOf();
    const mounted = mountedRoutes();
    expect(mounted.length).toBeGreaterThan(20);
    expect(documented(doc)).toEqual(mounted);
  });

  it("describes auth and error responses on every operation", async () => {
    const { doc } = await documentOf();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const statuses = Object.keys(op.responses as Json).map(Number);
        expect(
          statuses.some((s) => s >= 400),
          `${method} ${path}`,
        ).toBe(true);
        expect(Array.isArray(op.security), `${method} ${path}`).toBe(true);
        if (path.startsWith("/v1/")) expect(op.security).toContainEqual({ sluiceKey: [] });
        if (path.startsWith("/admin/")) expect(op.security).toEqual([{ adminToken: [] }]);
      }
    }
  });

  it("resolves every $ref it holds", async () => {
    const { doc } = await documentOf();
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of new Set(refs)) {
      const pointer = r.slice(8, -1);
      expect(pointer.startsWith("#/components/"), pointer).toBe(true);
      const target = pointer
        .slice(2)
        .split("/")
        .reduce<unknown>((o, k) => (o as Json | undefined)?.[k], doc);
      expect(target, pointer).toBeDefined();
    }
  });
});

/** Requests each route accepts, and one each that its validator refuses with a 400. */
const EXAMPLES = [
  {
    path: "/v1/chat/completions",
    good: { model: "mock/echo", messages: [{ role: "user", content: "hi" }], temperature: 0.2 },
    bad: { model: "mock/echo", messages: "hi" },
  },
  {
    path: "/v1/messages",
    good: {
      model: "mock/echo",
      max_tokens: 64,
      system: "Be brief.",
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    },
    bad: { model: "mock/echo", messages: [{ role: "user", content: "hi" }] },
  },
  {
    path: "/v1/responses",
    good: { model: "mock/echo", input: [{ role: "user", content: "hi" }], store: false },
    bad: { model: "mock/echo", input: 42 },
  },
  {
    path: "/v1/embeddings",
    good: { model: "mock/echo", input: ["a", "b"] },
    bad: { model: "mock/echo", input: { text: "a" } },
  },
  {
    path: "/admin/keys",
    good: {
      name: "openapi example",
      team: "web",
      models: ["mock/*"],
      rpm: 60,
      budget: { usd: 25, period: "day" },
      expiresAt: "2099-01-01T00:00:00Z",
      metadata: { env: "test" },
      browser: { origins: ["https://app.example.com"] },
    },
    bad: { name: "openapi example", rpm: 0 },
  },
] as const;

describe("the document's request schemas", () => {
  for (const ex of EXAMPLES) {
    it(`accept what POST ${ex.path} accepts and refuse what it refuses`, async () => {
      const g = gateway();
      const { doc } = await documentOf();
      const validate = validatorOf(doc)(bodyRef(doc, "post", ex.path));
      expect(validate(ex.good), JSON.stringify(validate.errors)).toBe(true);
      expect(validate(ex.bad)).toBe(false);

      const key = ex.path.startsWith("/admin/") ? undefined : await g.createKey();
      const send = (body: unknown) => g.fetch(ex.path, key ? post(body, key) : admin(body));
      const ok = await send(ex.good);
      expect(ok.status, await ok.clone().text()).toBeLessThan(300);
      const refused = await send(ex.bad);
      expect(refused.status).toBe(400);

      const errorSchema = validatorOf(doc)(errorRef(doc, "post", ex.path, 400));
      const body = await refused.json();
      expect(errorSchema(body), JSON.stringify(errorSchema.errors)).toBe(true);
      await g.settle();
    });
  }

  it("refuse a field the admin API does not know (strict objects)", async () => {
    const { doc } = await documentOf();
    const validate = validatorOf(doc)(bodyRef(doc, "post", "/admin/keys"));
    expect(validate({ name: "x", rmp: 60 })).toBe(false);
  });
});

describe("the document's error responses", () => {
  it("match the bodies the app answers with: OpenAI's, Anthropic's under /v1/messages", async () => {
    const g = gateway();
    const { doc } = await documentOf();
    const compile = validatorOf(doc);
    const cases = [
      { method: "post", path: "/v1/chat/completions", shape: "OpenAIError" },
      { method: "post", path: "/v1/messages", shape: "AnthropicError" },
      { method: "post", path: "/v1/messages/count_tokens", shape: "AnthropicError" },
      { method: "get", path: "/v1/models", shape: "OpenAIError" },
      { method: "post", path: "/admin/keys", shape: "OpenAIError" },
    ];
    for (const c of cases) {
      const ref = errorRef(doc, c.method, c.path, 401);
      expect(ref).toBe(`#/components/schemas/${c.shape}`);
      const res = await g.fetch(c.path, {
        method: c.method.toUpperCase(),
        body: c.method === "post" ? "{}" : null,
      });
      expect(res.status).toBe(401);
      const validate = compile(ref);
      expect(validate(await res.json()), `${c.path}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});

describe("Tagged objects in the document", () => {
  it("read as the tagged object byType checks: the JSON Schema zod gives for it", () => {
    const tagged = z.looseObject({ type: z.string().min(1) });
    const { $schema: _, ...expected } = z.toJSONSchema(tagged, { target: "draft-2020-12", io: "input" });
    const { $schema: __, ...got } = z.toJSONSchema(byType({ text: z.looseObject({ text: z.string() }) }), {
      target: "draft-2020-12",
      io: "input",
      unrepresentable: "any",
    });
    expect(got).toEqual(expected);
  });
});
