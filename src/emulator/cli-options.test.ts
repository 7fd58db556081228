import { describe, expect, it } from "vitest";
import { emulatorOptionsFromFlags, parseEmulatorFlags } from "./cli-options.ts";

describe("emulator flags", () => {
  it("defaults to a free port on localhost with one-hour tokens", () => {
    const parsed = parseEmulatorFlags({});
    expect(parsed.ok && emulatorOptionsFromFlags(parsed.flags)).toEqual({
      host: "127.0.0.1",
      port: 0,
      tokenTtlSeconds: 3600,
      applicationQuota: null,
      accessPolicyQuota: null,
      rateLimit: null,
      tier: "FREE",
      seedAssets: false,
    });
  });

  it("reads the Azure federation CA file through the reader it is given", () => {
    const parsed = parseEmulatorFlags({ azureFederationCaFile: "/etc/ca.pem" });
    const read: string[] = [];
    const options =
      parsed.ok &&
      emulatorOptionsFromFlags(parsed.flags, (path) => {
        read.push(path);
        return "-----BEGIN CERTIFICATE-----";
      });
    expect(read).toEqual(["/etc/ca.pem"]);
    expect(options && options.azure).toEqual({ federationCaCertificates: ["-----BEGIN CERTIFICATE-----"] });
  });

  it("reads every flag", () => {
    const parsed = parseEmulatorFlags({
      port: "8090",
      host: "0.0.0.0",
      publicUrl: "http://emulator.test:8090",
      tokenTtlSeconds: "60",
      quota: "5",
      accessPolicyQuota: "3",
      rateLimit: "100/60",
      tier: "PREMIUM",
      truncateUnpagedLists: "50",
      seedAssets: true,
    });
    expect(parsed.ok && emulatorOptionsFromFlags(parsed.flags)).toEqual({
      host: "0.0.0.0",
      port: 8090,
      publicUrl: "http://emulator.test:8090",
      tokenTtlSeconds: 60,
      applicationQuota: 5,
      accessPolicyQuota: 3,
      rateLimit: { limit: 100, windowSeconds: 60 },
      tier: "PREMIUM",
      truncateUnpagedLists: 50,
      seedAssets: true,
    });
  });

  it.each([{ tier: "FREE" }, { tier: "PREMIUM" }, { tier: "READONLY" }])("takes --tier $tier", ({ tier }) => {
    const parsed = parseEmulatorFlags({ tier });
    expect(parsed.ok && emulatorOptionsFromFlags(parsed.flags).tier).toBe(tier);
  });

  it.each([
    ["a port out of range", { port: "70000" }, "--port must be at most 65535"],
    ["a non-numeric TTL", { tokenTtlSeconds: "soon" }, "--token-ttl-seconds must be a whole number"],
    ["a zero TTL", { tokenTtlSeconds: "0" }, "--token-ttl-seconds must be at least 1"],
    ["a rate limit without a window", { rateLimit: "100" }, "--rate-limit must read <requests>/<seconds>"],
    ["a zero rate limit", { rateLimit: "0/1" }, "--rate-limit needs positive numbers"],
    ["a zero truncation", { truncateUnpagedLists: "0" }, "--truncate-unpaged-lists must be at least 1"],
    ["an unknown tier", { tier: "GOLD" }, "--tier must be FREE, PREMIUM or READONLY"],
    ["a public URL that is not http", { publicUrl: "ftp://x" }, "--public-url must be an http(s) URL"],
  ])("refuses %s", (_name, raw, message) => {
    const parsed = parseEmulatorFlags(raw);
    expect(parsed.ok ? "" : parsed.message).toContain(message);
  });
});
