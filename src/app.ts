import { Hono } from "hono";
import { adminAuth, keyAuth } from "./http/auth";
import type { AppEnv } from "./http/context";
import { cors } from "./http/cors";
import { errorResponse, GatewayError } from "./http/errors";
import { init, limitBody, requestId } from "./http/middleware";
import { adminKeys } from "./routes/admin-keys";
import { adminTeams } from "./routes/admin-teams";
import { chat } from "./routes/chat";
import { dashboard } from "./routes/dashboard";
import { embeddings } from "./routes/embeddings";
import { health } from "./routes/health";
import { messages } from "./routes/messages";
import { models } from "./routes/models";
import { adminSpend, keySpend } from "./routes/spend";
import { tokens } from "./routes/tokens";

const POST_ONLY = ["/v1/chat/completions", "/v1/embeddings", "/v1/messages"];

/** Builds the app: middleware order and route registration, nothing else. */
export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(requestId, init, limitBody);
  app.use("/v1/*", cors, keyAuth);
  app.use("/admin/*", adminAuth);

  app.route("/", health);
  app.route("/", chat);
  app.route("/", embeddings);
  app.route("/", messages);
  app.route("/", models);
  app.route("/", adminKeys);
  app.route("/", adminTeams);
  app.route("/", tokens);
  app.route("/", dashboard);
  app.route("/", adminSpend);
  app.route("/", keySpend);
  app.on(["GET", "PUT", "PATCH", "DELETE"], POST_ONLY, (c) => {
    throw new GatewayError("method_not_allowed", `${c.req.method} is not allowed here; use POST.`, {
      headers: { allow: "POST" },
    });
  });

  app.notFound((c) =>
    errorResponse(new GatewayError("not_found", `No route for ${c.req.method} ${c.req.path}.`)),
  );
  app.onError((err, c) => {
    if (!(err instanceof GatewayError))
      console.error(
        JSON.stringify({ event: "sluice.error", requestId: c.var.requestId, error: String(err) }),
      );
    const shape = c.req.path === "/v1/messages" ? "anthropic" : "openai";
    return errorResponse(err, {}, shape);
  });
  return app;
}
