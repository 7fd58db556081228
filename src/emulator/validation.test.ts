import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiError } from "./errors.ts";
import { emptyBodySchema, parseBody } from "./validation.ts";

const schema = z.strictObject({
  display_name: z.string(),
  groups: z.array(z.strictObject({ or: z.array(z.string()) })).optional(),
});

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("request bodies", () => {
  it.each([
    {
      name: "a top-level unknown field",
      body: { display_name: "a", colour: "red" },
      message: 'unknown field "colour"',
    },
    {
      name: "an unknown field in a nested object",
      body: { display_name: "a", groups: [{ or: [], and: [] }] },
      message: 'groups.0: unknown field "and"',
    },
    { name: "a missing required field", body: {}, message: "display_name" },
  ])("refuses $name with a 400 naming it", ({ body, message }) => {
    const error = refusal(() => parseBody(schema, body));
    expect([error.status, error.grpcCode]).toEqual([400, 3]);
    expect(error.message).toContain(message);
  });

  it.each([
    { name: "no body", body: undefined },
    { name: "an empty object", body: {} },
  ])("takes $name as an empty body", ({ body }) => {
    expect(parseBody(emptyBodySchema, body)).toEqual({});
  });

  it("refuses a field where the body must be empty", () => {
    expect(refusal(() => parseBody(emptyBodySchema, { identity: "x" })).message).toBe(
      'unknown field "identity"',
    );
  });
});
