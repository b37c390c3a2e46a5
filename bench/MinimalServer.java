// The cold-start baseline of scripts/bench: the smallest useful Vert.x HTTP server, answering 200 on /.
// scripts/bench compiles it and packs it into its own fat jar (target/bench/minimal.jar).
import io.vertx.core.Vertx;

public class MinimalServer {
  public static void main(String[] args) {
    Vertx.vertx().createHttpServer()
      .requestHandler(request -> request.response().end("ok"))
      .listen(Integer.parseInt(args.length > 0 ? args[0] : "0"), "127.0.0.1")
      .onSuccess(server -> System.out.println("listening on http://127.0.0.1:" + server.actualPort()));
  }
}
