/**
 * List paging as DataTrails does it: `page_size` and `page_token` in, `next_page_token` out (empty on
 * the last page). The token is base64 of `{"orig_req": {...}, "skip": n}`, so it carries the original
 * query and a client may send the token alone on later pages.
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

/** Cuts one page out of the full, filtered result. */
export function paginate<T>(all: readonly T[], req: ResolvedPageRequest): Page<T> {
  const items = all.slice(req.skip, req.skip + req.pageSize);
  const next = req.skip + items.length;
  return { items, nextPageToken: next < all.length ? encodePageToken(req.origReq, next) : "" };
}

/** A string filter out of the original request, if it has one. */
export function filterOf(origReq: OriginalRequest, name: string): string | undefined {
  const v = origReq[name];
  return typeof v === "string" ? v : undefined;
}

/**
 * One page of a list that takes `page_size`, `page_token` and an exact `display_name` filter, as the
 * applications and access-policies lists do; the filter comes from the page token's original query.
 */
export function pageByDisplayName<T>(
  query: unknown,
  all: readonly T[],
  displayNameOf: (item: T) => string,
): Page<T> {
  const page = resolvePageRequest(
    { page_size: queryValue(query, "page_size"), page_token: queryValue(query, "page_token") },
    { display_name: queryValue(query, "display_name") },
  );
  const displayName = filterOf(page.origReq, "display_name");
  return paginate(
    displayName === undefined ? all : all.filter((item) => displayNameOf(item) === displayName),
    page,
  );
}
