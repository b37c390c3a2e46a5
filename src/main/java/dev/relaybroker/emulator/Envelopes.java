package dev.relaybroker.emulator;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** The cloud's JSON envelope, {@code {"ok": true, "data"}} or {@code {"ok": false, "error": {code, message}}}. */
final class Envelopes {
  /** Context key set by the {@code drop} fault: the route does its work, but its answer is lost. */
  static final String LOSE_REPLY = "emulator.loseReply";

  private Envelopes() {
  }

  static void ok(RoutingContext ctx, int status, Object data) {
    send(ctx, status, new JsonObject().put("ok", true).put("data", data));
  }

  static void fail(RoutingContext ctx, int status, String code, String message) {
    send(ctx, status, new JsonObject().put("ok", false)
      .put("error", new JsonObject().put("code", code).put("message", message)));
  }

  /** The request body as a JSON object, or null after answering 400; an empty body counts as {}. */
  static JsonObject jsonBody(RoutingContext ctx) {
    Buffer raw = ctx.body().buffer();
    if (raw == null || raw.length() == 0) {
      return new JsonObject();
    }
    try {
      Object parsed = raw.toJsonValue();
      if (parsed instanceof JsonObject object) {
        return object;
      }
    } catch (DecodeException e) {
      // answered below
    }
    fail(ctx, 400, "invalid_request", "request body must be a JSON object");
    return null;
  }

  private static void send(RoutingContext ctx, int status, JsonObject body) {
    if (ctx.response().ended() || ctx.response().closed()) {
      return;
    }
    if (Boolean.TRUE.equals(ctx.get(LOSE_REPLY))) {
      if (ctx.get("logEntry") instanceof JsonObject entry) {
        entry.put("status", 0);
      }
      ctx.request().connection().close();
      return;
    }
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.encode());
  }
}
