package dev.relaybroker.support;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.client.WebClient;

/**
 * The first HTTP server bind and client request of a JVM load a few hundred Netty and Vert.x classes on an event
 * loop: over 100 ms on a busy 2-core machine, which the suite's strict blocked-thread checker would report against
 * whichever test happens to run first. Done once, under the default (lenient) checker, before any test's Vert.x.
 */
final class JvmWarmUp {
  private JvmWarmUp() {
  }

  static void serverAndClient() {
    Vertx vertx = Vertx.vertx();
    try {
      HttpServer server = Await.await(vertx.createHttpServer()
        .requestHandler(request -> request.response().end("warm")).listen(0, "127.0.0.1"));
      WebClient web = WebClient.create(vertx);
      Await.await(web.get(server.actualPort(), "127.0.0.1", "/").send());
      web.close();
    } finally {
      Await.await(vertx.close());
    }
  }
}
