import { describe, expect, it } from "vitest";
import { prependTopLevel, removeTopLevel, replaceTopLevelString } from "../../src/formats/json-text";

describe("JSON text edits", () => {
  const body = '{ "model" : "a\\"b", "x": {"model": "nested"}, "list": [1, {"model": "n"}], "n": 5 }';

  it("replace only the top-level string, every other byte kept", () => {
    expect(replaceTopLevelString(body, "model", "c")).toBe(
      '{ "model" : "c", "x": {"model": "nested"}, "list": [1, {"model": "n"}], "n": 5 }',
    );
    expect(replaceTopLevelString('{"x":{"model":"b"},"model":"a"}', "model", "c")).toBe(
      '{"x":{"model":"b"},"model":"c"}',
    );
    expect(replaceTopLevelString('{"n":5}', "model", "c")).toBe('{"n":5}');
  });

  it("remove a field first, in the middle or last, and prepend one", () => {
    expect(removeTopLevel('{"model":"a","n":1}', "model")).toBe('{"n":1}');
    expect(removeTopLevel('{"n":1, "model":"a", "m":2}', "model")).toBe('{"n":1, "m":2}');
    expect(removeTopLevel('{"n":1,"model":"a"}', "model")).toBe('{"n":1}');
    expect(removeTopLevel('{"model":"a"}', "model")).toBe("{}");
    expect(prependTopLevel('{"n":1}', "v", "x")).toBe('{"v":"x","n":1}');
    expect(prependTopLevel("{}", "v", 1)).toBe('{"v":1}');
    expect(JSON.parse(removeTopLevel(body, "model"))).toEqual({
      x: { model: "nested" },
      list: [1, { model: "n" }],
      n: 5,
    });
  });

  it("skip strings whole: escaped quotes, backslash runs and brackets inside them", () => {
    const tricky = JSON.stringify({
      system: "ends in a backslash \\",
      messages: [{ content: 'a } ] { [ "quoted" \\" and \\\\" runs', meta: { model: "nested" } }],
      tools: [{ input: { code: 'if (a) { return "}"; }' } }],
      model: "alias",
      n: 1,
    });
    const replaced = replaceTopLevelString(tricky, "model", "upstream-model");
    expect(JSON.parse(replaced)).toEqual({ ...JSON.parse(tricky), model: "upstream-model" });
    expect(replaced.replace('"upstream-model"', '"alias"')).toBe(tricky);
    const { model: _m, ...rest } = JSON.parse(tricky);
    expect(JSON.parse(removeTopLevel(tricky, "model"))).toEqual(rest);
    expect(() => replaceTopLevelString('{"a":"unterminated', "model", "c")).toThrow();
    expect(() => replaceTopLevelString('{"a":[{"b":1}', "model", "c")).toThrow();
  });

  it("refuse text that is not a JSON object", () => {
    expect(() => replaceTopLevelString("[1]", "model", "c")).toThrow();
  });
});
