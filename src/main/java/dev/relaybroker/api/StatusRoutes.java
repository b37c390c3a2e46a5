package dev.relaybroker.api;

import dev.relaybroker.session.Session;
import dev.relaybroker.session.SessionSnapshot;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The read-only routes of the published client ({@code HarnessDriverClient} 9.1.6: {@code getStatus()},
 * {@code getConfig()}, {@code listAgents()}, {@code getMetrics()}, {@code getCrashInsights()}, {@code preflight()})
 * in 12.4.1's shapes (measured against its binary), answered with this broker's data: one workspace, one identity,
 * no workers.
 */
final class StatusRoutes {
  private final Supplier<SessionSnapshot> snapshot;
  private final LongSupplier uptimeSecs;

  private StatusRoutes(Supplier<SessionSnapshot> snapshot, LongSupplier uptimeSecs) {
    this.snapshot = snapshot;
    this.uptimeSecs = uptimeSecs;
  }

  /** Mounted after authentication and the body handler. */
  static void mount(Router router, Supplier<SessionSnapshot> snapshot, LongSupplier uptimeSecs) {
    StatusRoutes routes = new StatusRoutes(snapshot, uptimeSecs);
    router.get("/api/status").handler(routes::status);
    router.get("/api/config").handler(routes::config);
    router.get("/api/spawned").handler(ctx -> LocalApiVerticle.json(ctx.response(), 200, new JsonObject().put("agents", new JsonArray())));
    router.get("/api/metrics").handler(routes::metrics);
    router.get("/api/crash-insights").handler(ctx -> LocalApiVerticle.json(ctx.response(), 200, new JsonObject()
      .put("health_score", 100).put("patterns", new JsonArray()).put("recent", new JsonArray()).put("total_crashes", 0)));
    router.post("/api/preflight").handler(routes::preflight);
  }

  private void status(RoutingContext ctx) {
    SessionSnapshot s = snapshot.get();
    Session session = s.session();
    JsonObject workspace = new JsonObject()
      .put("authenticated", session != null)
      .put("default", true)
      .put("self_agent_id", session != null ? session.agentId() : null)
      .put("self_name", session != null ? session.agentName() : null)
      .put("workspace_alias", null)
      .put("workspace_id", PeerFields.workspaceId(session));
    LocalApiVerticle.json(ctx.response(), 200, new JsonObject()
      .put("status", "running")
      .put("mode", "normal")
      .put("degraded", null)
      .put("agent_count", 0)
      .put("agents", new JsonArray())
      .put("pending_delivery_count", 0)
      .put("pending_deliveries", new JsonArray())
      .put("dead_letter_count", 0)
      .put("node_connected", false)
      .put("node_delivery", new JsonObject().put("connected", false).put("token_present", false))
      .put("auth", new JsonObject()
        .put("authenticated", session != null)
        .put("default_workspace_id", PeerFields.workspaceId(session))
        .put("workspace_count", 1)
        .put("workspaces", new JsonArray().add(workspace)))
      // Ours: where the identity flow stands (12.4.1 has no such state: it exits when it fails).
      .put("state", s.state().wireName()));
  }

  private void config(RoutingContext ctx) {
    Session session = snapshot.get().session();
    JsonObject body = new JsonObject()
      .put("defaultWorkspaceId", PeerFields.workspaceId(session))
      .put("memberships", PeerFields.memberships(session));
    if (session != null) {
      body.put("workspaceKey", session.workspaceKey());
    }
    LocalApiVerticle.json(ctx.response(), 200, body);
  }

  private void metrics(RoutingContext ctx) {
    LocalApiVerticle.json(ctx.response(), 200, new JsonObject()
      .put("agents", new JsonArray())
      .put("broker", new JsonObject()
        .put("active_agents", 0)
        .put("total_agents_spawned", 0)
        .put("total_crashes", 0)
        .put("total_restarts", 0)
        .put("uptime_secs", uptimeSecs.getAsLong())));
  }

  /** 12.4.1 counts the agents it queued for a warm start; this broker starts none, so nothing is queued. */
  private void preflight(RoutingContext ctx) {
    JsonObject body = ctx.body().length() == 0 ? null : parse(ctx);
    if (body == null || !(body.getValue("agents") instanceof JsonArray)) {
      LocalApiVerticle.error(ctx.response(), 400, "bad_request", "preflight needs a JSON body {\"agents\": [...]}", false);
      return;
    }
    LocalApiVerticle.json(ctx.response(), 200, new JsonObject().put("queued", 0));
  }

  private static JsonObject parse(RoutingContext ctx) {
    try {
      return ctx.body().asJsonObject();
    } catch (RuntimeException notAnObject) {
      return null;
    }
  }
}
