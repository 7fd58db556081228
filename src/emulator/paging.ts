/**
 * List paging as DataTrails does it: `page_size` and `page_token` in, `next_page_token` out (empty on
 * the last page). The token is base64 of `{"orig_req": {...}, "skip": n}`, so it carries the original
 * query (page size, filters, order) and a client may send the token alone on later pages.
 *
 * A request with no page size may be cut short the way DataTrails cuts it ("up to the internal
 * limit"): with the `truncateUnpagedLists` setting, only the first n items and an empty token.
 */
import { queryValue } from "./context.ts";
import { invalidArgument } from "./errors.ts";

/** Page size when a request names none (or 0, which proto3 reads as unset). */
export const defaultPageSize = 100;

/** The largest page the emulator returns; larger requests are cut down to it. */
export const maxPageSize = 500;

/** The original query of a list call: its page size (if sent) and its filters. */
export type OriginalRequest = Record<string, string | number>;

/** A list request resolved against its page token. */
export interface ResolvedPageRequest {
  origReq: OriginalRequest;
  pageSize: number;
  skip: number;
}

/** One page of results and the token for the next (empty when there is none). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
  /** How many items match the query, over every page (the `X-Total-Count` header). */
  total: number;
  /** Whether an unpaged request was cut short: items beyond the page exist, yet there is no token. */
  truncated: boolean;
}

/** Encodes a page token. */
export function encodePageToken(origReq: OriginalRequest, skip: number): string {
  return Buffer.from(JSON.stringify({ orig_req: origReq, skip }), "utf8").toString("base64");
}

/** Decodes a page token, or throws 400 when it is not one this emulator wrote. */
export function decodePageToken(token: string): { origReq: OriginalRequest; skip: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
  } catch {
    throw invalidArgument("invalid page_token");
  }
  if (typeof parsed !== "object" || parsed === null) throw invalidArgument("invalid page_token");
  const { orig_req: origReq, skip } = parsed as { orig_req?: unknown; skip?: unknown };
  if (typeof skip !== "number" || !Number.isSafeInteger(skip) || skip < 0) {
    throw invalidArgument("invalid page_token");
  }
  if (typeof origReq !== "object" || origReq === null || Array.isArray(origReq)) {
    throw invalidArgument("invalid page_token");
  }
  const out: OriginalRequest = {};
  for (const [k, v] of Object.entries(origReq)) {
    if (typeof v !== "string" && typeof v !== "number") throw invalidArgument("invalid page_token");
    out[k] = v;
  }
  return { origReq: out, skip };
}

/** Parses a `page_size` query value: absent or 0 means the default; anything but an integer is 400. */
export function parsePageSize(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw)) throw invalidArgument("page_size must be a non-negative integer");
  const n = Number(raw);
  return n === 0 ? undefined : n;
}

/**
 * Resolves a list request: with a page token, the token's original query wins over anything else
 * sent; without one, the query is built from the page size and the filters given.
 */
export function resolvePageRequest(
  query: { page_size?: string | undefined; page_token?: string | undefined },
  filters: Record<string, string | undefined>,
): ResolvedPageRequest {
  let origReq: OriginalRequest;
  let skip = 0;
  if (query.page_token !== undefined && query.page_token !== "") {
    ({ origReq, skip } = decodePageToken(query.page_token));
  } else {
    origReq = {};
    const size = parsePageSize(query.page_size);
    if (size !== undefined) origReq["page_size"] = size;
    for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== "") origReq[k] = v;
  }
  const requested = origReq["page_size"];
  const pageSize = typeof requested === "number" && requested > 0 ? Math.min(requested, maxPageSize) : 0;
  return { origReq, pageSize: pageSize || defaultPageSize, skip };
}

/** Whether the request named a page size (its own, or its page token's original query's). */
function sized(req: ResolvedPageRequest): boolean {
  return typeof req.origReq["page_size"] === "number";
}

/**
 * Cuts one page out of the full, filtered result. With `truncateUnpaged` set, a request that named
 * no page size gets at most that many items and never a next page token, as DataTrails cuts an
 * unpaged list short without saying so.
 */
export function paginate<T>(
  all: readonly T[],
  req: ResolvedPageRequest,
  truncateUnpaged: number | null = null,
): Page<T> {
  if (truncateUnpaged !== null && !sized(req)) {
    const items = all.slice(req.skip, req.skip + Math.min(truncateUnpaged, req.pageSize));
    return { items, nextPageToken: "", total: all.length, truncated: req.skip + items.length < all.length };
  }
  const items = all.slice(req.skip, req.skip + req.pageSize);
  const next = req.skip + items.length;
  return {
    items,
    nextPageToken: next < all.length ? encodePageToken(req.origReq, next) : "",
    total: all.length,
    truncated: false,
  };
}

/** One query filter of a list: the values it takes (any when left out) and whether an item passes. */
export interface ListFilter<T> {
  values?: readonly string[];
  holds(item: T, value: string): boolean;
}

/** What a list route filters and orders by. */
export interface ListSpec<T> {
  /** Filters by exact query parameter name, e.g. `display_name`. */
  filters?: Record<string, ListFilter<T>>;
  /** Filters by a parameter prefix, e.g. `attributes.` for `attributes.<key>=<value>`; given the key. */
  prefixFilters?: Record<string, (item: T, key: string, value: string) => boolean>;
  /** The `order_by` values the list takes, each with its comparison (null keeps the stored order). */
  orders?: Record<string, ((a: T, b: T) => number) | null>;
  /** The `truncateUnpagedLists` setting. */
  truncateUnpaged: number | null;
}

function queryKeys(query: unknown): string[] {
  return typeof query === "object" && query !== null ? Object.keys(query) : [];
}

function checkValue(name: string, value: string, values: readonly string[] | undefined): void {
  if (values !== undefined && !values.includes(value)) {
    throw invalidArgument(`${name} must be one of ${values.join(", ")}`);
  }
}

/**
 * One page of a list: the query's filters and order (from the page token's original query on later
 * pages) applied to every item, then the page cut out.
 */
export function listPage<T>(query: unknown, all: readonly T[], spec: ListSpec<T>): Page<T> {
  const filters = spec.filters ?? {};
  const prefixes = Object.entries(spec.prefixFilters ?? {});
  const sent: Record<string, string | undefined> = {};
  for (const name of Object.keys(filters)) sent[name] = queryValue(query, name);
  for (const key of queryKeys(query)) {
    if (prefixes.some(([prefix]) => key.startsWith(prefix) && key.length > prefix.length)) {
      sent[key] = queryValue(query, key);
    }
  }
  if (spec.orders) sent["order_by"] = queryValue(query, "order_by");
  const page = resolvePageRequest(
    { page_size: queryValue(query, "page_size"), page_token: queryValue(query, "page_token") },
    sent,
  );

  let selected = [...all];
  for (const [key, value] of Object.entries(page.origReq)) {
    if (typeof value !== "string" || key === "order_by") continue;
    const filter = filters[key];
    if (filter) {
      checkValue(key, value, filter.values);
      selected = selected.filter((item) => filter.holds(item, value));
      continue;
    }
    const prefixed = prefixes.find(([prefix]) => key.startsWith(prefix));
    if (prefixed) {
      const [prefix, holds] = prefixed;
      selected = selected.filter((item) => holds(item, key.slice(prefix.length), value));
    }
  }
  const order = filterOf(page.origReq, "order_by");
  if (spec.orders && order !== undefined) {
    checkValue("order_by", order, Object.keys(spec.orders));
    const compare = spec.orders[order];
    if (compare) selected.sort(compare);
  }
  return paginate(selected, page, spec.truncateUnpaged);
}

/** A string filter out of the original request, if it has one. */
export function filterOf(origReq: OriginalRequest, name: string): string | undefined {
  const v = origReq[name];
  return typeof v === "string" ? v : undefined;
}

/** Whether a list request asks for the total count (`X-Request-Total-Count: true`). */
export function wantsTotalCount(headers: Record<string, string | string[] | undefined>): boolean {
  const value = headers["x-request-total-count"];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.trim().toLowerCase() === "true";
}
