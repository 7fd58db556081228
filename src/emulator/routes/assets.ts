/**
 * `GET /archivist/v2/assets`: the assets the caller's access policies let it see (all of them for an
 * OWNER), paged. A new integration with no policy sees `{"assets": [], "next_page_token": ""}`.
 */
import type { FastifyInstance } from "fastify";
import { visibleAssets } from "../abac.ts";
import { authenticate } from "../auth.ts";
import { queryValue, type EmulatorContext } from "../context.ts";
import { paginate, resolvePageRequest } from "../paging.ts";

/** Registers the assets route. */
export function registerAssetRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  app.get("/archivist/v2/assets", { config: { route: "assets.list" } }, async (request) => {
    const caller = await authenticate(ctx, request);
    const page = resolvePageRequest(
      {
        page_size: queryValue(request.query, "page_size"),
        page_token: queryValue(request.query, "page_token"),
      },
      {},
    );
    const visible = visibleAssets(ctx.state.listAssets(), ctx.state.listPolicies(), caller);
    const { items, nextPageToken } = paginate(visible, page);
    return { assets: items, next_page_token: nextPageToken };
  });
}
