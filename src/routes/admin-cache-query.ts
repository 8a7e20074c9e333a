import * as z from "zod";

/**
 * The query parameters of `/admin/cache`, apart from its handlers (which reach the cache's bindings), so the
 * OpenAPI document can read them anywhere.
 */

/** `DELETE /admin/cache`: what to purge (none: everything). */
export const purgeQuery = z.strictObject({
  scope: z.string().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
  tag: z.string().min(1).max(64).optional(),
});

/** `GET /admin/cache`: stats since `from`. */
export const statsQuery = z.strictObject({ from: z.iso.datetime({ offset: true }).optional() });
