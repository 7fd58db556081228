/**
 * Invariants 1 and 2 with the real operator binary: it is SIGKILLed right after each step of the
 * create plan and of the rotation plan (--fault-crash-at), a fresh process takes over, and every
 * integration ends with exactly one application, a credentials Secret holding the application's
 * current secret that works at the token endpoint, no pending mark in status, and never a second
 * create. Also: a create whose answer is lost on the wire is recovered the same way.
 *
 * Each case has a namespace and an emulator of its own, so the request counters are the case's own.
 * The cases run one after another: each runs up to three operator processes.
 */
import { describe, expect, it } from "vitest";
import {
  applicationFinalizer,
  rotateAnnotation,
  type DataTrailsIntegration,
} from "../../src/api/v1alpha1/index.ts";
import { pendingCreateOf } from "../../src/controllers/integration/predicates.ts";
import { sha256Hex } from "../../src/emulator/index.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { crashHarness } from "./harness.ts";
import { expectRecovered, getIntegration, tokenStatus, uniqueName, waitForCondition } from "./support.ts";
import { integrationManifest } from "../support/manifests.ts";

const { newCase, operator, crashAt } = crashHarness();

// atCrash: what the dead process left behind (creates sent, the pending mark, the credentials Secret,
// the child BearerToken), proving where it died.
// regenerations: the lost secret is regenerated only where the create answered and its secret died
// with the process; a secret already in the credentials Secret is tried and kept.
// The first create has no AddFinalizer step: the finalizer goes on with the create-started mark.
const createSteps = [
  {
    step: "after:MarkPendingCreate",
    atCrash: { creates: 0, pendingCreate: true, finalizer: true, secret: false, bearerToken: false },
    regenerations: 0,
  },
  {
    step: "after:CreateApplication",
    atCrash: { creates: 1, pendingCreate: true, finalizer: true, secret: false, bearerToken: false },
    regenerations: 1,
  },
  {
    step: "after:WriteCredentials",
    atCrash: { creates: 1, pendingCreate: true, finalizer: true, secret: true, bearerToken: false },
    regenerations: 0,
  },
  {
    step: "after:RecordEvent",
    atCrash: { creates: 1, pendingCreate: true, finalizer: true, secret: true, bearerToken: false },
    regenerations: 0,
  },
  {
    step: "after:ApplyBearerToken",
    atCrash: { creates: 1, pendingCreate: true, finalizer: true, secret: true, bearerToken: true },
    regenerations: 0,
  },
  // The child published its first token; the integration's status, held until then
  // (src/controllers/integration/held-status.ts), was not written yet: the mark is still pending.
  {
    step: "after:PublishToken",
    atCrash: { creates: 1, pendingCreate: true, finalizer: true, secret: true, bearerToken: true },
    regenerations: 0,
  },
];

async function exists(namespace: string, kind: string, name: string): Promise<boolean> {
  const out = await kubectlOk(["get", kind, name, "-n", namespace, "--ignore-not-found", "-o", "name"]);
  return out.trim() !== "";
}

describe("SIGKILL during the create plan", () => {
  it.each(createSteps)(
    "recovers from a crash $step with one application and a working secret",
    async ({ step, atCrash, regenerations }) => {
      const c = await newCase("crash-create");
      const name = uniqueName("create");
      await crashAt(c, step, () => kubectlOk(["apply", "-f", "-"], integrationManifest(c.namespace, name)));
      const left = await getIntegration(c.namespace, name);
      expect({
        creates: c.emulator.control.count("applications.create"),
        pendingCreate: pendingCreateOf(left as unknown as DataTrailsIntegration) !== undefined,
        finalizer: left.metadata.finalizers?.includes(applicationFinalizer) ?? false,
        secret: await exists(c.namespace, "secret", `${name}-credentials`),
        bearerToken: await exists(c.namespace, "bearertoken", name),
      }).toEqual(atCrash);
      await operator(c);

      await waitForCondition(c.namespace, [name], "CredentialsReady");
      await expectRecovered(c.emulator, c.namespace, name);
      expect(c.emulator.control.count("applications.create"), "never a second create").toBe(1);
      expect(c.emulator.control.count("applications.regenerateSecret")).toBe(regenerations);
    },
    120_000,
  );
});

// regenerationsAtCrash proves where the process died (each case has the pending mark set).
const rotationSteps = [
  // A crash before the regenerate leaves the old secret working: the rotation runs once, afterwards.
  { step: "after:MarkPendingRotation", regenerationsAtCrash: 0, regenerations: 1 },
  // The regenerate happened but its secret died with the process: the stored one is rejected, regenerate again.
  { step: "after:RegenerateSecret", regenerationsAtCrash: 1, regenerations: 2 },
  // The new secret was written and works: the mark's valid_from shows the regenerate happened, so
  // the rotation is done and the same request does not regenerate again.
  { step: "after:WriteCredentials", regenerationsAtCrash: 1, regenerations: 1 },
];

describe("SIGKILL during an on-demand rotation", () => {
  it.each(rotationSteps)(
    "recovers from a crash $step with the rotated secret working and the old one refused",
    async ({ step, regenerationsAtCrash, regenerations }) => {
      const c = await newCase("crash-rotate");
      const name = uniqueName("rotate");
      // A clean operator makes the integration: WriteCredentials is a create step too.
      const setup = await operator(c);
      await kubectlOk(["apply", "-f", "-"], integrationManifest(c.namespace, name));
      await waitForCondition(c.namespace, [name], "CredentialsReady");
      const before = await expectRecovered(c.emulator, c.namespace, name);
      setup.kill("SIGTERM");
      expect((await setup.exitedWithin(30_000)).code).toBe(0);
      c.emulator.control.resetCounters();

      const request = `crash-${Date.now()}`;
      await crashAt(c, step, () =>
        kubectlOk([
          "annotate",
          "-n",
          c.namespace,
          `datatrailsintegration/${name}`,
          `${rotateAnnotation}=${request}`,
        ]),
      );
      const left = await getIntegration(c.namespace, name);
      expect({
        regenerations: c.emulator.control.count("applications.regenerateSecret"),
        pendingRotation: left.status?.pendingRotation !== undefined,
      }).toEqual({ regenerations: regenerationsAtCrash, pendingRotation: true });
      await operator(c);

      // CredentialsReady stays True through a rotation: wait for the request to be recorded as done.
      await expect
        .poll(
          async () => {
            const status = (await getIntegration(c.namespace, name)).status;
            return { lastRotateRequest: status?.lastRotateRequest, pending: status?.pendingRotation };
          },
          { timeout: 60_000, interval: 250 },
        )
        .toEqual({ lastRotateRequest: request, pending: undefined });
      await waitForCondition(c.namespace, [name], "CredentialsReady");
      const after = await expectRecovered(c.emulator, c.namespace, name);

      expect(sha256Hex(after["client_secret"] ?? ""), "the secret was rotated").not.toBe(
        sha256Hex(before["client_secret"] ?? ""),
      );
      expect(after["client_id"]).toBe(before["client_id"]);
      expect(
        await tokenStatus(c.emulator, before["client_id"] ?? "", before["client_secret"] ?? ""),
        "the old secret is refused",
      ).toBe(401);
      expect(c.emulator.control.count("applications.create"), "never a second create").toBe(0);
      expect(c.emulator.control.count("applications.regenerateSecret")).toBe(regenerations);
    },
    120_000,
  );
});

describe("a create whose answer is lost", () => {
  it("finds the application it created by searching, regenerates its secret, and creates nothing more", async () => {
    const c = await newCase("crash-drop");
    const name = uniqueName("dropped");
    // The emulator creates the application, then destroys the connection instead of answering.
    c.emulator.control.dropNext({ route: "applications.create", afterHandling: true });
    await operator(c);
    await kubectlOk(["apply", "-f", "-"], integrationManifest(c.namespace, name));

    await waitForCondition(c.namespace, [name], "CredentialsReady");
    await expectRecovered(c.emulator, c.namespace, name);
    expect(c.emulator.control.count("applications.create"), "never a second create").toBe(1);
    expect(c.emulator.control.count("applications.list"), "found by searching").toBeGreaterThanOrEqual(1);
    expect(c.emulator.control.count("applications.regenerateSecret"), "the lost secret is regenerated").toBe(
      1,
    );
  }, 120_000);
});
