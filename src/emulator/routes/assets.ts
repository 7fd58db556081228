/**
 * `GET /archivist/v2/assets`: the assets the caller's access policies let it see (all of them for an
 * OWNER), paged, filtered by `attributes.<key>=<value>`, `tracked` and `confirmation_status`, in an
 * `order_by` the swagger names. A new integration with no policy sees
 * `{"assets": [], "next_page_token": ""}`. A request without `page_size` that the
 * `truncateUnpagedLists` setting cuts short is a 206 with `Content-Range: items 0-<limit>/<total>`
 * and `X-Total-Count`, as DataTrails answers a result past its limit.
 */
import type { FastifyInstance } from "fastify";
import { assetTermHolds, visibleAssets } from "../abac.ts";
import { authenticate } from "../auth.ts";
import type { EmulatorContext } from "../context.ts";
import { listPage } from "../paging.ts";
import { assetConfirmationStatuses, assetTrackedStatuses, type Asset } from "../state.ts";
import { setTotalCount } from "./list-headers.ts";

const anyTracked = ["TRACKED_STATUS_UNSPECIFIED", "ANY"];

/** Registers the assets route. */
export function registerAssetRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  app.get("/archivist/v2/assets", { config: { route: "assets.list" } }, async (request, reply) => {
    const caller = await authenticate(ctx, request);
    const visible = visibleAssets(ctx.state.listAssets(), ctx.state.listPolicies(), caller);
    const limit = ctx.settings.truncateUnpagedLists;
    const page = listPage<Asset>(request.query, visible, {
      filters: {
        tracked: {
          values: [...anyTracked, ...assetTrackedStatuses],
          holds: (asset, value) => anyTracked.includes(value) || asset.tracked === value,
        },
        confirmation_status: {
          values: ["CONFIRMATION_STATUS_UNSPECIFIED", ...assetConfirmationStatuses],
          holds: (asset, value) =>
            value === "CONFIRMATION_STATUS_UNSPECIFIED" || asset.confirmation_status === value,
        },
      },
      // Filters read the attributes the caller may see, never the ones its policies hide.
      prefixFilters: {
        "attributes.": (asset, key, value) => assetTermHolds(asset, `attributes.${key}=${value}`),
      },
      // One proof mechanism here: every order the swagger names is the order assets were added in.
      orders: { DEFAULT: null, SIMPLEHASHV1: null, SIMPLEHASHV2: null },
      truncateUnpaged: limit,
    });
    if (page.truncated && limit !== null) {
      reply.code(206).headers({
        "content-range": `items 0-${limit}/${page.total}`,
        "x-total-count": String(page.total),
      });
    } else {
      setTotalCount(request, reply, page);
    }
    return { assets: page.items, next_page_token: page.nextPageToken };
  });
}
