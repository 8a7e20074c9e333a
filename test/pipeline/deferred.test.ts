import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/http/errors";
import { deferredCall } from "../../src/inbound/deferred";

/** A deferred call over a canonical body, counting how often it was made. */
function counted(make?: () => { body: Record<string, unknown>; dropped: string[] }) {
  let made = 0;
  const canonical = { model: "m", user: "u", messages: [{ role: "user", content: "hi" }], max_tokens: 5 };
  const call = deferredCall({ model: "m", user: "u", stream: true }, () => {
    made++;
    return make ? make() : { body: canonical, dropped: ["thinking"] };
  });
  return { call, canonical, made: () => made };
}

describe("deferredCall: a canonical form made on first read", () => {
  it("answers model, user and stream without making it", () => {
    const { call, made } = counted();
    expect([call.body.model, call.body.user, call.stream]).toEqual(["m", "u", true]);
    expect(made()).toBe(0);
  });

  it("makes it once, for any other read, and reads through to it from then on", () => {
    const { call, canonical, made } = counted();
    expect(call.body.max_tokens).toBe(5);
    expect(call.dropped).toEqual(["thinking"]);
    expect("messages" in call.body).toBe(true);
    expect(made()).toBe(1);
    expect(call.body.messages).toBe(canonical.messages);
  });

  it("is the made body to a spread, a key listing and JSON", () => {
    for (const read of [
      (b: object) => ({ ...b }),
      (b: object) => Object.fromEntries(Object.entries(b)),
      (b: object) => JSON.parse(JSON.stringify(b)),
    ]) {
      const { call, canonical, made } = counted();
      expect(read(call.body)).toEqual(canonical);
      expect(made()).toBe(1);
    }
  });

  it("writes and deletes on the made body", () => {
    const { call, canonical } = counted();
    call.body.max_completion_tokens = 9;
    delete call.body.user;
    expect(canonical).toMatchObject({ max_completion_tokens: 9 });
    expect("user" in canonical).toBe(false);
    expect(call.body.user).toBeUndefined();
  });

  it("throws what making it throws, at the read that makes it, and again at the next", () => {
    const refused = new GatewayError("invalid_request", "Invalid request: messages[0].content[0].text: no");
    const { call, made } = counted(() => {
      throw refused;
    });
    expect(call.body.model).toBe("m");
    expect(() => call.body.messages).toThrow(refused);
    expect(() => call.dropped).toThrow(refused);
    expect(made()).toBe(2);
  });
});
