/**
 * The generated CRDs on a real API server: they install, valid objects are admitted, and what the
 * API server can check itself is refused at admission with a message naming the field.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { installCrds, kubectl, kubectlOk } from "../support/kubectl.ts";
import { untypedBearerTokenManifest, untypedIntegrationManifest } from "../support/manifests.ts";

const namespace = "crd-admission";

// Admission is what is tested here: many specs below are refused on purpose, so they are untyped.
const integration = (name: string, spec: Record<string, unknown>) =>
  untypedIntegrationManifest(namespace, name, spec);

const bearerToken = (name: string, spec: Record<string, unknown>) =>
  untypedBearerTokenManifest(namespace, name, spec);

const dataTrails = { credentialsSecretRef: { name: "creds" } };

describe("the generated CRDs on a real API server", () => {
  beforeAll(async () => {
    await installCrds();
    await kubectlOk(["create", "namespace", namespace]);
  });

  it("admits the docs' TrafficLight101 example", async () => {
    const out = await kubectlOk(
      ["apply", "-f", "-"],
      integration("traffic-light-101", {
        displayName: "TrafficLight101",
        customClaims: { serial_number: "TL1000000101", has_cyclist_light: "true" },
      }),
    );
    expect(out).toContain("datatrailsintegration.datatrails.ai/traffic-light-101 created");
  });

  it.each([
    ["a jit_ prefix", { jit_x: "1" }, /spec\.customClaims.*must not start with jit_ or arc_/],
    ["an arc_ prefix", { arc_y: "1" }, /spec\.customClaims.*must not start with jit_ or arc_/],
    [
      "a registered claim",
      { exp: "1" },
      /spec\.customClaims.*must not be registered JWT claims nor reserved: iss, sub, aud, exp/,
    ],
    [
      "the operator's ownership claim",
      { k8s_integration_uid: "x" },
      /spec\.customClaims.*k8s_integration_uid/,
    ],
    ["a name with a space", { "has light": "x" }, /spec\.customClaims.*must start with a letter/],
  ])("refuses a custom claim with %s, naming the field", async (_case, customClaims, message) => {
    const result = await kubectl(["apply", "-f", "-"], integration("bad-claims", { customClaims }));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it("refuses a claim value that is not a string, naming the field", async () => {
    const result = await kubectl(
      ["apply", "-f", "-"],
      integration("bad-value", { customClaims: { count: 3 } }),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /spec\.customClaims\.count: Invalid value: "integer": .*must be of type string/,
    );
  });

  it.each([
    ["a blank display name", { displayName: "   " }, /spec\.displayName/],
    [
      "an unknown deletion policy",
      { deletionPolicy: "Keep" },
      /spec\.deletionPolicy: Unsupported value: "Keep"/,
    ],
    [
      "an adopt identity that is not an application",
      { adopt: { identity: "assets/x" } },
      /spec\.adopt\.identity/,
    ],
    [
      "a Secret name that is not a DNS name",
      { credentialsSecret: { name: "Not_OK" } },
      /spec\.credentialsSecret\.name/,
    ],
  ])("refuses %s, naming the field", async (_case, spec, message) => {
    const result = await kubectl(["apply", "-f", "-"], integration("bad-spec", spec));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it("refuses adding spec.adopt after creation", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("adopt-later", {}));
    const result = await kubectl(
      ["apply", "-f", "-"],
      integration("adopt-later", {
        adopt: { identity: "applications/d1fb6c87-faa9-4d56-b2fd-a5b70a9af065" },
      }),
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /spec\.adopt: Forbidden: spec\.adopt can only be set when the integration is created/,
    );
  });

  it("refuses changing spec.connectionRef, and allows renaming the display name", async () => {
    await kubectlOk(["apply", "-f", "-"], integration("move-me", {}));
    const moved = await kubectl(
      ["apply", "-f", "-"],
      integration("move-me", { connectionRef: { name: "elsewhere" } }),
    );
    expect(moved.status).not.toBe(0);
    expect(moved.stderr).toMatch(/spec\.connectionRef: Forbidden: spec\.connectionRef cannot be changed/);
    const renamed = await kubectl(["apply", "-f", "-"], integration("move-me", { displayName: "Renamed" }));
    expect(renamed.stderr).toBe("");
    expect(renamed.stdout).toContain("configured");
  });

  it("admits a BearerToken with one issuer and refuses one with none or two", async () => {
    expect(await kubectlOk(["apply", "-f", "-"], bearerToken("one", { dataTrails }))).toContain("created");
    const none = await kubectl(["apply", "-f", "-"], bearerToken("none", {}));
    expect(none.stderr).toMatch(/spec: Invalid value: .*exactly one issuer/);
    const two = await kubectl(
      ["apply", "-f", "-"],
      bearerToken("two", {
        dataTrails,
        oauth2ClientCredentials: {
          tokenUrl: "https://login.example/token",
          credentialsSecretRef: { name: "c" },
        },
      }),
    );
    expect(two.stderr).toMatch(/exactly one issuer/);
  });

  it("refuses verification with both or neither of discoveryUrl and jwksUrl", async () => {
    const neither = await kubectl(
      ["apply", "-f", "-"],
      bearerToken("verify-none", { dataTrails, verify: {} }),
    );
    expect(neither.stderr).toMatch(/spec\.verify: Invalid value: .*exactly one of discoveryUrl and jwksUrl/);
  });

  it("is explained by kubectl explain", async () => {
    const out = await kubectlOk(["explain", "datatrailsintegration.spec.customClaims"]);
    expect(out).toMatch(/must not start with\s+jit_ or arc_/);
  });

  it("prints the Ready, Client ID and Suspended columns", async () => {
    // An object of its own: with none, kubectl prints no header at all.
    await kubectlOk(["apply", "-f", "-"], integration("columns", {}));
    const out = await kubectlOk(["get", "datatrailsintegrations", "-n", namespace]);
    expect(out.split("\n")[0]).toMatch(/^NAME\s+READY\s+CLIENT ID\s+SUSPENDED\s+AGE$/);
  });
});
