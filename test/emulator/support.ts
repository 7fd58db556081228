/**
 * Small helpers for driving the emulator over real HTTP with fetch, as any DataTrails client would.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/index.ts";

/** A response with its JSON body (undefined when it is not JSON). */
export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** Sends a request; `json` is sent as a JSON body, `form` as a form body. */
export async function send(
  emulator: RunningEmulator,
  method: string,
  path: string,
  options: {
    token?: string;
    json?: unknown;
    form?: Record<string, string>;
    rawBody?: string;
    contentType?: string;
  } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(options.form).toString();
  } else if (options.rawBody !== undefined) {
    headers["content-type"] = options.contentType ?? "application/json";
    body = options.rawBody;
  }
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** A token for client credentials, or the failed response. */
export async function tokenFor(
  emulator: RunningEmulator,
  clientId: string,
  clientSecret: string,
): Promise<JsonResponse> {
  return send(emulator, "POST", "/archivist/iam/v1/appidp/token", {
    form: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
  });
}

/** The seeded admin's access token. */
export async function adminToken(emulator: RunningEmulator): Promise<string> {
  const response = await tokenFor(emulator, emulator.admin.clientId, emulator.admin.clientSecret);
  return (response.body as { access_token: string }).access_token;
}

/** The application JSON fields tests read. */
export interface WireApp {
  identity: string;
  client_id: string;
  display_name: string;
  tenant_id: string;
  custom_claims: Record<string, string>;
  roles: string[];
  credentials: { secret: string; valid_from: string; valid_until: string }[];
}

/** Creates an application as the admin and returns its JSON (with the secret). */
export async function createApp(
  emulator: RunningEmulator,
  token: string,
  body: Record<string, unknown>,
): Promise<WireApp> {
  const response = await send(emulator, "POST", "/archivist/iam/v1/applications", { token, json: body });
  if (response.status !== 200) throw new Error(`create failed: HTTP ${response.status}`);
  return response.body as WireApp;
}

/** The payload of a JWT, decoded without verification. */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
}

/**
 * The hooks most emulator test files share: one emulator for the file (closed after it), reset to
 * its seeded state before each case, and a fresh admin token handed to `ready` before each case.
 */
export function useEmulator(
  ready: (emulator: RunningEmulator, adminToken: string) => void,
  options: EmulatorOptions = {},
): void {
  let emulator: RunningEmulator | undefined;
  beforeAll(async () => {
    emulator = await startEmulator(options);
  });
  afterAll(async () => {
    await emulator?.close();
  });
  beforeEach(async () => {
    if (!emulator) throw new Error("the emulator did not start");
    emulator.control.reset();
    ready(emulator, await adminToken(emulator));
  });
}
