import { describe, expect, it } from "vitest";
import { ApiError } from "./errors.ts";
import {
  decodePageToken,
  defaultPageSize,
  encodePageToken,
  listPage,
  maxPageSize,
  paginate,
  parsePageSize,
  resolvePageRequest,
  wantsTotalCount,
  type ListSpec,
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
    expect(paginate([], resolvePageRequest({}, {}))).toEqual({
      items: [],
      nextPageToken: "",
      total: 0,
      truncated: false,
    });
  });
});

describe("truncating unpaged lists", () => {
  const items = Array.from({ length: 7 }, (_, i) => i);

  it.each([
    {
      name: "no page_size, truncation off",
      query: {},
      truncate: null,
      items: 7,
      token: false,
      truncated: false,
    },
    { name: "no page_size, cut at 3", query: {}, truncate: 3, items: 3, token: false, truncated: true },
    {
      name: "page_size 0 (proto3 unset), cut at 3",
      query: { page_size: "0" },
      truncate: 3,
      items: 3,
      token: false,
      truncated: true,
    },
    {
      name: "no page_size, cut at 10 (more than there are)",
      query: {},
      truncate: 10,
      items: 7,
      token: false,
      truncated: false,
    },
    {
      name: "page_size 2, cut at 3",
      query: { page_size: "2" },
      truncate: 3,
      items: 2,
      token: true,
      truncated: false,
    },
    {
      name: "page_size 5, cut at 3",
      query: { page_size: "5" },
      truncate: 3,
      items: 5,
      token: true,
      truncated: false,
    },
  ])("$name", ({ query, truncate, items: count, token, truncated }) => {
    const page = paginate(items, resolvePageRequest(query, {}), truncate);
    expect({
      items: page.items.length,
      token: page.nextPageToken !== "",
      truncated: page.truncated,
      total: page.total,
    }).toEqual({ items: count, token, truncated, total: 7 });
  });

  it("keeps the page size in the token, so later pages are not cut", () => {
    const first = paginate(items, resolvePageRequest({ page_size: "4" }, {}), 2);
    const second = paginate(items, resolvePageRequest({ page_token: first.nextPageToken }, {}), 2);
    expect([...first.items, ...second.items]).toEqual(items);
  });
});

describe("listPage", () => {
  const items = ["a", "b", "a", "c", "a"].map((name, i) => ({ name, i, kind: i % 2 === 0 ? "EVEN" : "ODD" }));
  type Item = (typeof items)[number];
  const spec: ListSpec<Item> = {
    filters: {
      display_name: { holds: (x, v) => x.name === v },
      kind: { values: ["EVEN", "ODD"], holds: (x, v) => x.kind === v },
    },
    prefixFilters: { "tag.": (x, key, value) => key === "i" && String(x.i) === value },
    orders: { DEFAULT: null, NAME: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) },
    truncateUnpaged: null,
  };

  it("filters by the exact display name and keeps the filter in the page token", () => {
    const first = listPage({ page_size: "2", display_name: "a" }, items, spec);
    expect(first.items.map((x) => x.i)).toEqual([0, 2]);
    const second = listPage({ page_token: first.nextPageToken }, items, spec);
    expect([second.items.map((x) => x.i), second.nextPageToken, second.total]).toEqual([[4], "", 3]);
  });

  it.each([
    { name: "no filter", query: {}, seen: [0, 1, 2, 3, 4] },
    { name: "an enumerated filter", query: { kind: "ODD" }, seen: [1, 3] },
    { name: "a prefixed filter", query: { "tag.i": "3" }, seen: [3] },
    { name: "two filters ANDed", query: { display_name: "a", kind: "EVEN" }, seen: [0, 2, 4] },
    { name: "an order", query: { order_by: "NAME" }, seen: [0, 2, 4, 1, 3] },
    { name: "the default order", query: { order_by: "DEFAULT" }, seen: [0, 1, 2, 3, 4] },
    { name: "an empty filter (proto3 unset)", query: { display_name: "" }, seen: [0, 1, 2, 3, 4] },
  ])("lists with $name", ({ query, seen }) => {
    expect(listPage(query, items, spec).items.map((x) => x.i)).toEqual(seen);
  });

  it("keeps the order in the page token", () => {
    const first = listPage({ page_size: "3", order_by: "NAME" }, items, spec);
    const second = listPage({ page_token: first.nextPageToken }, items, spec);
    expect([...first.items, ...second.items].map((x) => x.i)).toEqual([0, 2, 4, 1, 3]);
  });

  it.each([
    { name: "an enumerated filter", query: { kind: "PRIME" }, message: "kind must be one of EVEN, ODD" },
    { name: "order_by", query: { order_by: "SIZE" }, message: "order_by must be one of DEFAULT, NAME" },
  ])("refuses an unknown value of $name with a 400", ({ query, message }) => {
    expect(() => listPage(query, items, spec)).toThrow(message);
  });
});

describe("X-Request-Total-Count", () => {
  it.each([
    { name: "true", headers: { "x-request-total-count": "true" }, wants: true },
    { name: "TRUE", headers: { "x-request-total-count": "TRUE" }, wants: true },
    { name: "false", headers: { "x-request-total-count": "false" }, wants: false },
    { name: "absent", headers: {}, wants: false },
  ])("$name asks for the count: $wants", ({ headers, wants }) => {
    expect(wantsTotalCount(headers)).toBe(wants);
  });
});
