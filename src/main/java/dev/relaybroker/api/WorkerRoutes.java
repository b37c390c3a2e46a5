package dev.relaybroker.api;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The worker runtime of the published broker (spawning and driving agent processes, delivering messages to them)
 * is not part of this broker. Each of its routes answers {@code 501 not_supported} with a message naming the route,
 * so a client's method ({@code spawnPty()}, {@code sendMessage()}, …) fails with that sentence instead of "no route".
 */
final class WorkerRoutes {
  static final String CODE = "not_supported";

  private WorkerRoutes() {
  }

  /** Mounted after authentication (an unauthenticated caller learns nothing about the routes). */
  static void mount(Router router) {
    router.post("/api/spawn").handler(WorkerRoutes::notSupported);
    router.post("/api/send").handler(WorkerRoutes::notSupported);
    router.route("/api/input/:name").handler(WorkerRoutes::notSupported);
    router.route("/api/input/:name/*").handler(WorkerRoutes::notSupported);
    router.route("/api/resize/:name").handler(WorkerRoutes::notSupported);
    router.route("/api/spawned/:name").handler(WorkerRoutes::notSupported);
    router.route("/api/spawned/:name/*").handler(WorkerRoutes::notSupported);
    router.route("/api/dead-letters*").handler(WorkerRoutes::notSupported);
    router.route("/api/fleet*").handler(WorkerRoutes::notSupported);
    router.route("/api/node-delivery*").handler(WorkerRoutes::notSupported);
  }

  private static void notSupported(RoutingContext ctx) {
    LocalApiVerticle.error(ctx.response(), 501, CODE, ctx.request().method() + " " + ctx.request().path()
      + " is part of the Rust broker's worker runtime; this broker serves identity and sessions only (no workers "
      + "are spawned or driven here)", false);
  }
}
