/**
 * No secret leaves the client through an error or a log line: every error class is provoked at
 * the emulator (including malformed bodies that carry a secret or a token), and each error's
 * message, stack, properties and cause chain, and every line the client logged, are searched for
 * the admin secret, application secrets and tokens.
 */
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataTrailsError, type HttpDataTrailsApi } from "../../src/datatrails/index.ts";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { clientFor, memoryLogger, recordingSleep, rejectionOf } from "./support.ts";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

/** Everything an error could show: message, stack, own properties and the whole cause chain. */
function everythingIn(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth += 1) {
    const e = current as Error & Record<string, unknown>;
    parts.push(
      String(e),
      e.message,
      e.stack ?? "",
      JSON.stringify({ ...e }),
      inspect(e, { depth: 10, showHidden: true }),
    );
    current = e.cause;
  }
  return parts.join("\n");
}

describe("secrets hygiene of the DataTrails client", () => {
  it("puts no secret or token in any error or log line, whatever fails", async () => {
    const { logger, lines } = memoryLogger();
    const { sleep } = recordingSleep();
    const api: HttpDataTrailsApi = clientFor(emulator, {
      logger,
      sleep,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 10 },
      timeouts: { headersMs: 200 },
    });
    const control = emulator.control;
    const secrets: string[] = [emulator.admin.clientSecret];
    const errors: unknown[] = [];
    const capture = async (promise: Promise<unknown>) => {
      errors.push(await rejectionOf(promise));
    };

    const app = await api.createApplication({
      displayName: "hygiene",
      customClaims: { serial_number: "TL1" },
    });
    secrets.push(app.secret);
    const token = await api.getToken({ clientId: app.clientId, clientSecret: app.secret });
    secrets.push(token.accessToken);

    // 400, 401 (app and admin), 402, 403, 404.
    await capture(api.createApplication({ displayName: "x", customClaims: { arc_x: "1" } }));
    // A wrong secret: the last hex digit changed (to "1" when it is "0", so it always differs).
    const wrongSecret = `${app.secret.slice(0, -1)}${app.secret.endsWith("0") ? "1" : "0"}`;
    await capture(api.getToken({ clientId: app.clientId, clientSecret: wrongSecret }));
    await capture(
      clientFor(emulator, {
        logger,
        credentials: { clientId: emulator.admin.clientId, clientSecret: "f".repeat(64) },
      }).listApplicationsPage({}),
    );
    control.setApplicationQuota(0);
    await capture(api.createApplication({ displayName: "over quota" }));
    control.setApplicationQuota(null);
    await capture(
      clientFor(emulator, {
        logger,
        credentials: { clientId: app.clientId, clientSecret: app.secret },
      }).listApplicationsPage({}),
    );
    await capture(api.getApplication("00000000-0000-0000-0000-000000000000"));
    // 429 beyond the bound, 5xx.
    control.failNext({ status: 429, retryAfterSeconds: 60 });
    await capture(api.listApplicationsPage({}));
    control.failNext({ route: "applications.get", status: 500, count: 2 });
    await capture(api.getApplication(app.identity));
    // Malformed bodies that carry a fresh secret or a token.
    control.malformNext({ route: "applications.create" });
    await capture(api.createApplication({ displayName: "malformed create" }));
    control.malformNext({ route: "applications.regenerateSecret" });
    await capture(api.regenerateSecret(app.identity));
    control.malformNext({ route: "token", count: 2 });
    await capture(api.getToken({ clientId: app.clientId, clientSecret: app.secret }));
    // Dropped connections, timeouts, aborts.
    control.dropNext({ route: "applications.list", count: 2 });
    await capture(api.listApplicationsPage({}));
    control.setLatency(10_000, "token");
    await capture(api.getToken({ clientId: app.clientId, clientSecret: app.secret }));
    control.setLatency(0, "token");
    await capture(
      api.getToken({ clientId: app.clientId, clientSecret: app.secret }, { signal: AbortSignal.abort() }),
    );

    // The secrets the malformed answers carried, as the emulator stored them.
    const current = control.applications().map((a) => a.secretSha256);
    expect(current.length).toBeGreaterThan(1);

    const codes = errors.map((e) => (e instanceof DataTrailsError ? e.code : "not a DataTrailsError"));
    expect(new Set(codes)).toEqual(
      new Set([
        "InvalidArgument",
        "Unauthenticated",
        "QuotaExceeded",
        "PermissionDenied",
        "NotFound",
        "RateLimited",
        "ServerError",
        "MalformedResponse",
        "ConnectionFailed",
        "Timeout",
        "Aborted",
      ]),
    );
    const haystack = [...errors.map(everythingIn), ...lines].join("\n");
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(haystack).not.toContain(secret);
    // No application secret at all (the malformed answers carried ones this test never saw), no JWT.
    expect(haystack).not.toMatch(/\b[0-9a-f]{64}\b/);
    expect(haystack).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
    expect(haystack).not.toMatch(/client_secret=/);
    await api.close();
  });
});
