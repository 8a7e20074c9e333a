import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildDocument } from "../../src/openapi/document";

// In Node: the validator reads its OpenAPI meta-schemas from disk, which workerd cannot.
describe("the OpenAPI document", () => {
  it("validates as OpenAPI 3.1 (the validator resolves every $ref too)", async () => {
    const validator = new Validator();
    const result = await validator.validate(buildDocument());
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("is refused by the validator when broken (the check can fail)", async () => {
    const { info: _info, ...broken } = buildDocument();
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });
});
