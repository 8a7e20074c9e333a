import type { ResponsesRequest } from "../formats/responses";
import { newId, responseOfItem } from "../formats/responses-stream";
import { GatewayError } from "../http/errors";
import type { Conversations, StoredResponse } from "./conversations";

type Json = Record<string, unknown>;

/** Id prefixes of input items given without one (as the API lists them: `msg_…`, `fc_…`). */
const PREFIX: Record<string, string> = { message: "msg", function_call: "fc", function_call_output: "fco" };

/** An item with its `type` and an `id` (a new one when it came without). */
function withId(item: Json): Json {
  const type = typeof item.type === "string" ? item.type : "message";
  if (typeof item.id === "string" && item.id) return { ...item, type };
  const { id: _none, ...rest } = item;
  return { id: newId(PREFIX[type] ?? "item"), ...rest, type };
}

/** OpenAI's answer to a `previous_response_id` it does not have (a 400, `previous_response_not_found`). */
export const previousNotFound = (id: string) =>
  new GatewayError("invalid_request", `Previous response with id '${id}' not found.`, {
    param: "previous_response_id",
    wireCode: "previous_response_not_found",
  });

/** A 404 for a stored response or item this key does not have, in OpenAI's words. */
export const notFound = (what: "Response" | "Item", id: string, param: string | null = null) =>
  new GatewayError("not_found", `${what} with id '${id}' not found.`, {
    param,
    type: "invalid_request_error",
  });

/**
 * A checked request's input with this key's stored state brought in: the previous response's input and output
 * first (its `instructions` are not carried over, as the API documents), then this request's items with every
 * `item_reference` replaced by the output item of this key's stored response it names. Every item gets its `type` and an `id`. `changed`: the
 * items differ from the request's own (a previous response, or a reference), so they replace `input`.
 * `holders`: for each stored response read, the provider holding it upstream (a passthrough's), or null.
 */
export async function resolveInput(
  conversations: Conversations,
  keyId: string,
  req: ResponsesRequest,
): Promise<{ items: Json[]; changed: boolean; holders: Set<string | null> }> {
  const loaded = new Map<string, Promise<StoredResponse | null>>();
  const load = (id: string) => {
    let p = loaded.get(id);
    if (!p) {
      p = conversations.load(keyId, id);
      loaded.set(id, p);
    }
    return p;
  };
  const items: Json[] = [];
  let changed = false;
  const previous = req.previous_response_id;
  if (previous) {
    const stored = await load(previous);
    if (!stored) throw previousNotFound(previous);
    items.push(...stored.input, ...stored.response.output);
    changed = true;
  }
  const own: Json[] =
    typeof req.input === "string" ? [{ role: "user", content: req.input }] : (req.input as Json[]);
  for (const [i, item] of own.entries()) {
    if (item.type !== "item_reference") {
      items.push(withId(item));
      continue;
    }
    changed = true;
    const id = item.id;
    if (typeof id !== "string" || !id) {
      throw new GatewayError("invalid_request", `Missing required parameter: 'input[${i}].id'.`, {
        param: `input[${i}].id`,
      });
    }
    const owner = responseOfItem(id);
    const stored = owner ? await load(owner) : null;
    const found = stored?.response.output.find((o) => o.id === id);
    if (!found) throw notFound("Item", id, `input[${i}]`);
    items.push(found);
  }
  const holders = new Set<string | null>();
  for (const p of loaded.values()) holders.add((await p)?.heldBy ?? null);
  return { items, changed, holders };
}
