import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { routeFamily, routeNames, unlimitedRoutes } from "./route-names.ts";

describe("route names", () => {
  it.each([
    ["token", "dataTrails"],
    ["assets.list", "dataTrails"],
    ["azure.token.v1", "azure"],
    ["azure.jwks.v2", "azure"],
    ["federated.token", "federated"],
  ] as const)("puts %s in the %s family", (route, family) => {
    expect(routeFamily(route)).toBe(family);
  });

  it("keeps the DataTrails rate limit off discovery, keys and the other issuers", () => {
    expect([...unlimitedRoutes].sort()).toEqual(
      routeNames.filter((r) => r === "discovery" || r === "jwks" || routeFamily(r) !== "dataTrails").sort(),
    );
    expect(unlimitedRoutes).not.toContain("token");
    expect(unlimitedRoutes).toContain("azure.token.v2");
  });

  it("lists every route name in docs/emulator.md", () => {
    const docs = readFileSync(new URL("../../docs/emulator.md", import.meta.url), "utf8");
    expect(routeNames.filter((r) => !docs.includes(`\`${r}\``))).toEqual([]);
  });
});
