/**
 * Checks shared by the crash tests: a namespace of their own with a connection to an emulator,
 * and the end state every recovery must reach (one application per integration, a credentials
 * Secret whose secret is the application's current one and works at the token endpoint, no
 * pending mark left in status).
 */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { ownerClaimName, type DataTrailsIntegration } from "../../src/api/v1alpha1/index.ts";
import { pendingCreateOf } from "../../src/controllers/integration/predicates.ts";
import { sha256Hex, type ApplicationSnapshot, type RunningEmulator } from "../../src/emulator/index.ts";
import { createConnection } from "../support/env.ts";
import { kubectlOk } from "../support/kubectl.ts";

/** A DNS-label name with a random suffix, so reruns and parallel files never share objects. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** Creates `namespace` with the admin Secret and the `datatrails` DataTrailsConnection to `emulator`. */
export async function createNamespaceWithConnection(
  namespace: string,
  emulator: RunningEmulator,
): Promise<void> {
  await kubectlOk(["create", "namespace", namespace]);
  await createConnection(namespace, emulator);
}

/** Deletes a namespace without waiting (objects with finalizers may keep it terminating). */
export async function deleteNamespace(namespace: string): Promise<void> {
  await kubectlOk(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
}

/** The parts of a DataTrailsIntegration the checks read. */
export interface IntegrationState {
  metadata: { uid: string; annotations?: Record<string, string>; finalizers?: string[] };
  status?: {
    applicationIdentity?: string;
    clientId?: string;
    pendingCreate?: unknown;
    pendingRotation?: unknown;
    lastRotateRequest?: string;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

/** Reads a DataTrailsIntegration as kubectl prints it. */
export async function getIntegration(namespace: string, name: string): Promise<IntegrationState> {
  return JSON.parse(
    await kubectlOk(["get", "datatrailsintegration", name, "-n", namespace, "-o", "json"]),
  ) as IntegrationState;
}

/** Waits (kubectl wait) until each named integration has the condition True. */
export async function waitForCondition(
  namespace: string,
  names: string[],
  condition: "CredentialsReady" | "Ready",
  timeoutSeconds = 90,
): Promise<void> {
  await kubectlOk([
    "wait",
    `--for=condition=${condition}`,
    `--timeout=${timeoutSeconds}s`,
    "-n",
    namespace,
    ...names.map((n) => `datatrailsintegration/${n}`),
  ]);
}

/** The credentials Secret's values (client_id, client_secret, url, token_url). */
export async function credentials(namespace: string, name: string): Promise<Record<string, string>> {
  const secret = JSON.parse(
    await kubectlOk(["get", "secret", `${name}-credentials`, "-n", namespace, "-o", "json"]),
  ) as { data?: Record<string, string> };
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
}

/** The HTTP status of a client_credentials token request to the emulator (real HTTP). */
export async function tokenStatus(
  emulator: RunningEmulator,
  clientId: string,
  clientSecret: string,
): Promise<number> {
  const res = await fetch(`${emulator.url}/archivist/iam/v1/appidp/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The applications carrying this object's UID in the ownership claim. */
export function applicationsOwnedBy(emulator: RunningEmulator, uid: string): ApplicationSnapshot[] {
  return emulator.control.applications().filter((a) => a.customClaims[ownerClaimName] === uid);
}

/** The applications with this display name. */
export function applicationsNamed(emulator: RunningEmulator, displayName: string): ApplicationSnapshot[] {
  return emulator.control.applications().filter((a) => a.displayName === displayName);
}

/**
 * Asserts the end state of a recovered integration (named after its display name): exactly one
 * application (by ownership claim and by display name, the same one), the credentials Secret names
 * it and holds its current secret, that secret gets a token (200), and status records the
 * application with no pending mark left. Returns the Secret's values for further checks.
 */
export async function expectRecovered(
  emulator: RunningEmulator,
  namespace: string,
  name: string,
): Promise<Record<string, string>> {
  const obj = await getIntegration(namespace, name);
  const owned = applicationsOwnedBy(emulator, obj.metadata.uid);
  expect(owned, `applications claiming ${namespace}/${name}`).toHaveLength(1);
  const named = applicationsNamed(emulator, name);
  expect(named, `applications named ${name}`).toHaveLength(1);
  const app = owned[0];
  expect(named[0]?.identity).toBe(app?.identity);

  const data = await credentials(namespace, name);
  expect(data["client_id"]).toBe(app?.clientId);
  // Compared as hashes: a failure must not print a secret.
  expect(sha256Hex(data["client_secret"] ?? ""), "the Secret holds the application's current secret").toBe(
    app?.secretSha256,
  );
  expect(await tokenStatus(emulator, data["client_id"] ?? "", data["client_secret"] ?? "")).toBe(200);

  expect(obj.status?.applicationIdentity).toBe(app?.identity);
  expect(obj.status?.clientId).toBe(app?.clientId);
  expect(obj.status?.pendingCreate).toBeUndefined();
  // Nor a create-started mark still pending (the status records the identity).
  expect(pendingCreateOf(obj as unknown as DataTrailsIntegration)).toBeUndefined();
  expect(obj.status?.pendingRotation).toBeUndefined();
  return data;
}
