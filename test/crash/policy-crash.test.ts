/**
 * The access-policy create protocol under SIGKILL, with the real operator binary: it is killed right
 * after each policy step (--fault-crash-at), a fresh process takes over, and the integration ends
 * with exactly one policy in DataTrails, recorded in status, never a second create. A create whose
 * answer is lost on the wire, and a crash in the middle of a deletion, end the same way.
 *
 * Each case has a namespace and an emulator of its own, so the request counters are the case's own.
 */
import { describe, expect, it } from "vitest";
import { HttpDataTrailsApi } from "../../src/datatrails/http-api.ts";
import { kubectlOk } from "../support/kubectl.ts";
import { crashHarness, type CrashCase } from "./harness.ts";
import { uniqueName, waitForCondition } from "./support.ts";
import { integrationManifest, type IntegrationManifest } from "../support/manifests.ts";

const { newCase, operator, crashAt } = crashHarness({ seedAssets: true });

function reader(namespace: string, name: string): IntegrationManifest {
  return integrationManifest(namespace, name, {
    accessPolicies: [
      {
        name: "lights",
        filters: [["attributes.arc_display_type=Traffic Light"]],
        permissions: { assetAttributesRead: ["*"] },
      },
    ],
  });
}

interface Status {
  clientId?: string;
  accessPolicies?: { name: string; identity?: string; pendingCreateAt?: string }[];
}

async function status(namespace: string, name: string): Promise<Status> {
  const out = await kubectlOk(["get", "datatrailsintegration", name, "-n", namespace, "-o", "json"]);
  return (JSON.parse(out) as { status?: Status }).status ?? {};
}

const policiesOf = (c: CrashCase, name: string) =>
  c.emulator.control.accessPolicies().filter((p) => p.display_name === `k8s:${c.namespace}/${name}/lights`);

/** Exactly one policy, granted to the integration's client_id and recorded in status without a pending mark. */
async function expectOnePolicy(c: CrashCase, name: string): Promise<void> {
  await expect
    .poll(async () => (await status(c.namespace, name)).accessPolicies, { timeout: 60_000, interval: 250 })
    .toEqual([{ name: "lights", identity: expect.stringMatching(/^access_policies\//) as string }]);
  const s = await status(c.namespace, name);
  const policies = policiesOf(c, name);
  expect(policies, "exactly one policy").toHaveLength(1);
  expect(policies[0]?.identity).toBe(s.accessPolicies?.[0]?.identity);
  expect(policies[0]?.access_permissions[0]?.user_attributes).toEqual([{ or: [`subject=${s.clientId}`] }]);
}

const steps = [
  // The mark is written, the create never sent: it is sent once, afterwards.
  { step: "after:MarkPendingPolicy", atCrash: { creates: 0, pending: true } },
  // The create happened and its answer died with the process: found by the search, adopted.
  { step: "after:CreateAccessPolicy", atCrash: { creates: 1, pending: true } },
];

describe("SIGKILL during an access-policy create", () => {
  it.each(steps)(
    "recovers from a crash $step with exactly one policy",
    async ({ step, atCrash }) => {
      const c = await newCase("crash-policy");
      const name = uniqueName("reader");
      await crashAt(c, step, () => kubectlOk(["apply", "-f", "-"], reader(c.namespace, name)));
      const left = await status(c.namespace, name);
      expect({
        creates: c.emulator.control.count("accessPolicies.create"),
        pending: left.accessPolicies?.[0]?.pendingCreateAt !== undefined && !left.accessPolicies[0].identity,
      }).toEqual(atCrash);

      await operator(c);
      await waitForCondition(c.namespace, [name], "Ready");
      await expectOnePolicy(c, name);
      expect(c.emulator.control.count("accessPolicies.create"), "never a second create").toBe(1);
    },
    120_000,
  );
});

describe("a server that cuts unpaged lists short", () => {
  it("still finds the policy a crash left behind, past the first page, and creates no second", async () => {
    const c = await newCase("crash-policy-truncate");
    // Other policies of the tenant come first in the list; an unpaged list would show only one.
    const admin = new HttpDataTrailsApi({ baseUrl: c.emulator.url, credentials: c.emulator.admin });
    for (let i = 0; i < 5; i++)
      await admin.createAccessPolicy({
        displayName: `aaa-someone-else-${i}`,
        description: "not the operator's",
        filters: [["attributes.arc_display_type=Camera"]],
        permissions: [
          {
            subjects: [],
            behaviours: [],
            includeAttributes: [],
            assetAttributesRead: ["*"],
            assetAttributesWrite: [],
            eventTypesRead: [],
            eventTypesWrite: [],
            userAttributes: [["subject=someone-else"]],
          },
        ],
      });
    await admin.close();
    c.emulator.control.setTruncateUnpagedLists(1);
    const name = uniqueName("truncated");
    await crashAt(c, "after:CreateAccessPolicy", () =>
      kubectlOk(["apply", "-f", "-"], reader(c.namespace, name)),
    );
    expect(c.emulator.control.count("accessPolicies.create")).toBe(6);

    await operator(c);
    await waitForCondition(c.namespace, [name], "Ready");
    await expectOnePolicy(c, name);
    expect(c.emulator.control.count("accessPolicies.create"), "never a second create").toBe(6);
  }, 120_000);
});

describe("an access-policy create whose answer is lost", () => {
  it("finds the policy by listing, records it and creates nothing more", async () => {
    const c = await newCase("crash-policy-drop");
    const name = uniqueName("dropped");
    c.emulator.control.dropNext({ route: "accessPolicies.create", afterHandling: true });
    await operator(c);
    await kubectlOk(["apply", "-f", "-"], reader(c.namespace, name));

    await waitForCondition(c.namespace, [name], "Ready");
    await expectOnePolicy(c, name);
    expect(c.emulator.control.count("accessPolicies.create"), "never a second create").toBe(1);
    expect(c.emulator.control.count("accessPolicies.list"), "found by listing").toBeGreaterThanOrEqual(1);
  }, 120_000);
});

describe("SIGKILL during deletion", () => {
  it("finishes deleting after a crash right after the policy delete: no policy, no application left", async () => {
    const c = await newCase("crash-policy-delete");
    const name = uniqueName("doomed");
    const setup = await operator(c);
    await kubectlOk(["apply", "-f", "-"], reader(c.namespace, name));
    await waitForCondition(c.namespace, [name], "Ready");
    await expectOnePolicy(c, name);
    const clientId = (await status(c.namespace, name)).clientId;
    setup.kill("SIGTERM");
    expect((await setup.exitedWithin(30_000)).code).toBe(0);

    await crashAt(c, "after:DeleteAccessPolicy", () =>
      kubectlOk(["delete", "datatrailsintegration", name, "-n", c.namespace, "--wait=false"]),
    );
    expect(policiesOf(c, name), "the policy was deleted before the crash").toHaveLength(0);
    expect(c.emulator.control.applications().some((a) => a.clientId === clientId)).toBe(true);

    await operator(c);
    await kubectlOk([
      "wait",
      "--for=delete",
      "--timeout=60s",
      "-n",
      c.namespace,
      `datatrailsintegration/${name}`,
    ]);
    expect(policiesOf(c, name)).toHaveLength(0);
    expect(c.emulator.control.applications().some((a) => a.clientId === clientId)).toBe(false);
  }, 120_000);
});
