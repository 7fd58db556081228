import { describe, expect, it } from "vitest";
import { ApiError } from "./errors.ts";
import {
  pageByDisplayName,
  decodePageToken,
  defaultPageSize,
  encodePageToken,
  maxPageSize,
  paginate,
  parsePageSize,
  resolvePageRequest,
} from "./paging.ts";

describe("page tokens", () => {
  it("decodes the swagger's example token", () => {
    const example = Buffer.from('{"orig_req":{"page_size":2},"skip":2}').toString("base64");
    expect(decodePageToken(example)).toEqual({ origReq: { page_size: 2 }, skip: 2 });
  });

  it("round-trips the original query", () => {
    const token = encodePageToken({ page_size: 2, display_name: "x" }, 4);
    expect(JSON.parse(Buffer.from(token, "base64").toString())).toEqual({
      orig_req: { page_size: 2, display_name: "x" },
      skip: 4,
    });
    expect(decodePageToken(token)).toEqual({ origReq: { page_size: 2, display_name: "x" }, skip: 4 });
  });

  it.each([
    ["not base64 JSON", "%%%"],
    ["JSON but not an object", Buffer.from("42").toString("base64")],
    ["negative skip", Buffer.from('{"orig_req":{},"skip":-1}').toString("base64")],
    ["missing orig_req", Buffer.from('{"skip":1}').toString("base64")],
    ["nested values", Buffer.from('{"orig_req":{"a":{}},"skip":1}').toString("base64")],
  ])("refuses %s with a 400", (_name, token) => {
    expect(() => decodePageToken(token)).toThrow(ApiError);
    try {
      decodePageToken(token);
    } catch (e) {
      expect((e as ApiError).status).toBe(400);
    }
  });
});

describe("page size", () => {
  it.each([
    ["absent", undefined, undefined],
    ["empty", "", undefined],
    ["zero (proto3 unset)", "0", undefined],
    ["a number", "7", 7],
  ])("reads %s", (_name, raw, expected) => {
    expect(parsePageSize(raw)).toBe(expected);
  });

  it.each([["-1"], ["abc"], ["1.5"]])("refuses %s", (raw) => {
    expect(() => parsePageSize(raw)).toThrow("page_size");
  });
});

describe("resolving and paginating", () => {
  const items = ["a", "b", "c", "d", "e"];

  it("walks every page with only the token after the first", () => {
    const seen: string[] = [];
    let req = resolvePageRequest({ page_size: "2" }, { display_name: "x" });
    for (;;) {
      const page = paginate(items, req);
      seen.push(...page.items);
      if (page.nextPageToken === "") break;
      req = resolvePageRequest({ page_token: page.nextPageToken }, {});
      expect(req.origReq).toEqual({ page_size: 2, display_name: "x" });
    }
    expect(seen).toEqual(items);
  });

  it("lets the token's query win over filters sent beside it", () => {
    const token = encodePageToken({ display_name: "x" }, 1);
    expect(resolvePageRequest({ page_token: token, page_size: "9" }, { display_name: "y" })).toEqual({
      origReq: { display_name: "x" },
      pageSize: defaultPageSize,
      skip: 1,
    });
  });

  it("caps the page size", () => {
    expect(resolvePageRequest({ page_size: String(maxPageSize + 1) }, {}).pageSize).toBe(maxPageSize);
  });

  it("ends with an empty token on the last page", () => {
    expect(paginate(items, resolvePageRequest({ page_size: "5" }, {})).nextPageToken).toBe("");
    expect(paginate([], resolvePageRequest({}, {}))).toEqual({ items: [], nextPageToken: "" });
  });
});

describe("pageByDisplayName", () => {
  const items = ["a", "b", "a", "c", "a"].map((name, i) => ({ name, i }));

  it("filters by the exact display name and keeps the filter in the page token", () => {
    const first = pageByDisplayName({ page_size: "2", display_name: "a" }, items, (x) => x.name);
    expect(first.items.map((x) => x.i)).toEqual([0, 2]);
    const second = pageByDisplayName({ page_token: first.nextPageToken }, items, (x) => x.name);
    expect(second).toEqual({ items: [{ name: "a", i: 4 }], nextPageToken: "" });
  });

  it("lists everything without a filter", () => {
    expect(pageByDisplayName({}, items, (x) => x.name).items).toHaveLength(items.length);
  });
});
