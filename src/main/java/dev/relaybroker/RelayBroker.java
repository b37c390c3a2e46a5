package dev.relaybroker;

import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.ConfigInvalidException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.List;

/**
 * A relay broker running inside an application's own Vert.x: the identity, presence and (unless
 * {@code api.enabled} is false) local-API verticles, exactly what {@code relay-broker up} runs, which starts
 * through this class too. Read the session with {@link dev.relaybroker.bus.SessionClient}.
 *
 * <pre>{@code
 * BrokerOptions options = new BrokerOptions().setName("app")
 *   .setCloud(new CloudOptions().setBaseUrl(url).setWorkspaceKey(key));
 * RelayBroker.deploy(vertx, options)
 *   .compose(broker -> SessionClient.create(vertx).get())
 *   .onSuccess(session -> use(session.token()));
 * }</pre>
 *
 * <p>A broker uses the SPEC's event-bus addresses ({@link dev.relaybroker.bus.Addresses}); more than one in a
 * Vert.x give each a bus name ({@link BrokerOptions#setBusName(String)}) and read it with
 * {@code SessionClient.create(vertx, name)}. No emulator starts unless asked
 * ({@link BrokerOptions#setEmbeddedEmulator(boolean)}).
 */
public final class RelayBroker {
  private final BrokerApplication application;

  private RelayBroker(BrokerApplication application) {
    this.application = application;
  }

  /**
   * Validates the options (every problem at once, as a {@link ConfigInvalidException}), then deploys the broker's
   * verticles into {@code vertx}. Completes once they are deployed: the identity flow goes on, and
   * {@link dev.relaybroker.bus.SessionClient#get()} waits for its session.
   */
  public static Future<RelayBroker> deploy(Vertx vertx, BrokerOptions options) {
    List<String> problems = new ArrayList<>(options.validate());
    if (!options.isEmbeddedEmulator() && options.getCloud().getWorkspaceKey() == null && options.getCloud().getBaseUrl() == null) {
      problems.add("no cloud: set cloud.baseUrl and/or cloud.workspaceKey (or setEmbeddedEmulator(true) for a local emulator)");
    }
    if (!problems.isEmpty()) {
      return Future.failedFuture(new ConfigInvalidException(problems));
    }
    return BrokerApplication.start(vertx, options).map(RelayBroker::new);
  }

  /**
   * The graceful stop of SPEC §2 step 8: stop answering, mark the agent offline (bounded), close the realtime
   * connection, remove {@code connection.json} and the socket, release the state dir.
   */
  public Future<Void> stop() {
    return application.stop();
  }

  /** The latest session snapshot: what every surface of this broker serves. */
  public SessionSnapshot snapshot() {
    return application.snapshot();
  }

  /** The options it runs with. */
  public BrokerOptions options() {
    return application.options();
  }

  /** @hidden the process entry point and the tests reach the parts through this */
  public BrokerApplication application() {
    return application;
  }
}
