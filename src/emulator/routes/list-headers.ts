/**
 * The headers a list answer carries besides its body: `X-Total-Count` when the request asked for it
 * with `X-Request-Total-Count: true` (what the official SDK's `count()` reads).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { wantsTotalCount, type Page } from "../paging.ts";

/** Sets `X-Total-Count` to the number of items the query matches, when the request asked for it. */
export function setTotalCount(request: FastifyRequest, reply: FastifyReply, page: Page<unknown>): void {
  if (wantsTotalCount(request.headers)) reply.header("x-total-count", String(page.total));
}

/** Compares two strings by code unit, so an order is the same on every machine. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
