import { describe, expect, it } from "vitest";
import { discoveryUrlForIssuer, keySource } from "./check-token.ts";

describe("the discovery URL of an issuer", () => {
  it.each([
    {
      name: "a DataTrails issuer",
      iss: "https://app.datatrails.ai/appidpv1",
      url: "https://app.datatrails.ai/appidpv1/.well-known/openid-configuration",
    },
    {
      name: "an Azure v1 issuer, its one trailing slash stripped",
      iss: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
      url: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/.well-known/openid-configuration",
    },
    {
      name: "an Azure v2 issuer",
      iss: "https://login.microsoftonline.com/t/v2.0",
      url: "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration",
    },
    {
      name: "a bare host",
      iss: "https://issuer.example",
      url: "https://issuer.example/.well-known/openid-configuration",
    },
    {
      name: "two trailing slashes, only one stripped",
      iss: "https://issuer.example/a//",
      url: "https://issuer.example/a//.well-known/openid-configuration",
    },
    {
      name: "plain http on loopback",
      iss: "http://127.0.0.1:8090/appidpv1",
      url: "http://127.0.0.1:8090/appidpv1/.well-known/openid-configuration",
    },
    { name: "not a URL", iss: "appidpv1", url: undefined },
    { name: "another scheme", iss: "urn:example:issuer", url: undefined },
    { name: "a query", iss: "https://issuer.example/?tenant=1", url: undefined },
    { name: "a fragment", iss: "https://issuer.example/#x", url: undefined },
  ])("$name", ({ iss, url }) => {
    expect(discoveryUrlForIssuer(iss)).toBe(url);
  });
});

describe("where check-token gets the keys", () => {
  const iss = "http://127.0.0.1:8090/appidpv1";
  it.each([
    {
      name: "--discovery-url first",
      options: {
        discoveryUrl: "https://d.example/x",
        jwksUrl: "https://j.example/k",
        datatrailsUrl: "https://dt.example",
      },
      payload: { iss },
      source: { kind: "discovery", discoveryUrl: "https://d.example/x", from: "flag" },
    },
    {
      name: "--jwks-url over the token's iss",
      options: { jwksUrl: "https://j.example/k" },
      payload: { iss },
      source: { kind: "jwks", jwksUrl: "https://j.example/k" },
    },
    {
      name: "the token's iss over --datatrails-url",
      options: { datatrailsUrl: "https://dt.example" },
      payload: { iss },
      source: { kind: "discovery", discoveryUrl: `${iss}/.well-known/openid-configuration`, from: "iss" },
    },
    {
      name: "the token's iss with no flags",
      options: {},
      payload: { iss: "https://sts.windows.net/t/" },
      source: {
        kind: "discovery",
        discoveryUrl: "https://sts.windows.net/t/.well-known/openid-configuration",
        from: "iss",
      },
    },
    {
      name: "--datatrails-url for a token without iss",
      options: { datatrailsUrl: "https://dt.example/" },
      payload: {},
      source: {
        kind: "discovery",
        discoveryUrl: "https://dt.example/appidpv1/.well-known/openid-configuration",
        from: "datatrails",
      },
    },
    {
      name: "nowhere, for a token without iss and no flags (a usage error)",
      options: {},
      payload: {},
      source: { kind: "none", reason: "the token has no iss", usage: true },
    },
    {
      name: "nowhere, for an iss that is not a URL (cannot verify)",
      options: { datatrailsUrl: "https://dt.example" },
      payload: { iss: "appidpv1" },
      source: { kind: "none", reason: "the token's iss is not an http(s) URL", usage: false },
    },
  ])("$name", ({ options, payload, source }) => {
    expect(keySource(options, payload)).toEqual(source);
  });
});
