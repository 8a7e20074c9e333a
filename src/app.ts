import { Hono } from "hono";
import { answerError, shapeOf } from "./http/answer-error";
import { adminAuth, clientAuth } from "./http/auth";
import type { AppEnv } from "./http/context";
import { errorResponse, GatewayError } from "./http/errors";
import { gate } from "./http/middleware";
import { FORMATS } from "./inbound";
import { openapi } from "./openapi/route";
import { adminCache } from "./routes/admin-cache";
import { adminHealth } from "./routes/admin-health";
import { adminKeys } from "./routes/admin-keys";
import { adminTeams } from "./routes/admin-teams";
import { chat } from "./routes/chat";
import { dashboard } from "./routes/dashboard";
import { embeddings } from "./routes/embeddings";
import { health } from "./routes/health";
import { messages } from "./routes/messages";
import { models } from "./routes/models";
import { responses } from "./routes/responses";
import { adminSpend, keySpend } from "./routes/spend";
import { tokens } from "./routes/tokens";

/** Builds the app: middleware order and route registration, nothing else. */
export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(gate);
  app.use("/v1/*", clientAuth);
  app.use("/admin/*", adminAuth);

  app.route("/", health);
  app.route("/", chat);
  app.route("/", embeddings);
  app.route("/", messages);
  app.route("/", responses);
  app.route("/", models);
  app.route("/", adminKeys);
  app.route("/", adminTeams);
  app.route("/", adminCache);
  app.route("/", adminHealth);
  app.route("/", tokens);
  app.route("/", dashboard);
  app.route("/", adminSpend);
  app.route("/", keySpend);
  app.route("/", openapi);
  // Codex (with supports_websockets) first asks to upgrade /v1/responses to a WebSocket: a 404 makes it fall back
  // to HTTP streaming, as against any server without the WebSocket transport.
  app.get("/v1/responses", (c, next) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return next();
    throw new GatewayError(
      "not_found",
      "The WebSocket transport is not served here; use HTTP (SSE) streaming.",
    );
  });
  // After the POST routes: every other method (OPTIONS without a preflight, PROPFIND, …) is a 405.
  for (const path of [...FORMATS.flatMap((f) => f.paths), "/v1/messages/count_tokens"]) {
    app.all(path, (c) => {
      throw new GatewayError("method_not_allowed", `${c.req.method} is not allowed here; use POST.`, {
        headers: { allow: "POST" },
      });
    });
  }

  app.notFound((c) =>
    errorResponse(
      new GatewayError("not_found", `No route for ${c.req.method} ${c.req.path}.`),
      {},
      shapeOf(c.req.path),
    ),
  );
  app.onError(answerError);
  return app;
}
