/**
 * Request-body validation for the emulator's routes: zod schemas, and one function that turns a
 * failed parse into a 400 INVALID_ARGUMENT naming the field (never echoing the value sent).
 */
import { z } from "zod";
import { customClaimNameProblem } from "./claims.ts";
import { invalidArgument } from "./errors.ts";

/** A custom-claims map: string names to string values, names checked against the reserved ones. */
export const customClaimsSchema = z
  .record(z.string(), z.string({ error: "custom claim values must be strings" }), {
    error: "custom_claims must be an object of strings",
  })
  .superRefine((claims, ctx) => {
    for (const name of Object.keys(claims)) {
      const problem = customClaimNameProblem(name);
      if (problem) ctx.addIssue({ code: "custom", message: problem, path: [name] });
    }
  });

/**
 * Parses a JSON body (absent reads as `{}`), or throws 400 with the first problem found. Schemas
 * are strict objects: a field the request message does not have is refused, as grpc-gateway's
 * JSON decoder refuses it (`unknown field "x"`), rather than silently dropped.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  const message =
    issue?.code === "unrecognized_keys"
      ? issue.keys.map((k) => `unknown field ${JSON.stringify(k)}`).join(", ")
      : (issue?.message ?? "invalid request body");
  throw invalidArgument(path && !message.includes(path) ? `${path}: ${message}` : message);
}

/** A request body with no fields at all: absent, or `{}`. */
export const emptyBodySchema = z.strictObject({});
