package dev.relaybroker.example;

import dev.relaybroker.RelayBroker;
import dev.relaybroker.session.FailureCause;
import dev.relaybroker.session.PresenceState;
import dev.relaybroker.session.Session;
import dev.relaybroker.bus.SessionClient;
import dev.relaybroker.session.SessionState;
import dev.relaybroker.session.SessionUnavailable;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.CloudOptions;
import dev.relaybroker.config.ConfigInvalidException;
import dev.relaybroker.config.ReclaimPolicy;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.EmulatorDriver;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.relaybroker.support.Await.await;
import static dev.relaybroker.support.Await.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An application that embeds the broker, written against the public API only (RelayBroker, SessionClient, the
 * options classes and the bus types); the emulator stands in for the Relaycast cloud.
 */
class EmbeddingExampleTest {
  @TempDir
  Path tmp;

  private EmulatorDriver cloud;
  private String key;
  private Vertx vertx;

  @BeforeEach
  void start() {
    cloud = EmulatorDriver.start(Engine.CURRENT);
    key = cloud.createWorkspace();
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() {
    await(vertx.close());
    cloud.close();
  }

  private BrokerOptions options(String name, String dir) {
    BrokerOptions options = new BrokerOptions().setName(name).setStateDir(tmp.resolve(dir).toString())
      .setCloud(new CloudOptions().setBaseUrl(cloud.baseUrl()).setWorkspaceKey(key));
    options.getApi().setEnabled(false);
    return options;
  }

  @Test
  void anApplicationRunsTheBrokerInItsVertxAndReadsTheSessionTyped() {
    SessionClient sessions = SessionClient.create(vertx);
    List<SessionState> states = new CopyOnWriteArrayList<>();
    List<PresenceState> presence = new CopyOnWriteArrayList<>();
    sessions.states(change -> states.add(change.state()));
    sessions.presence(change -> presence.add(change.state()));

    RelayBroker broker = await(RelayBroker.deploy(vertx, options("app", "a")));
    Session session = await(sessions.get());

    assertThat(session.agentName()).isEqualTo("app");
    assertThat(session.token()).isEqualTo(cloud.agent(key, "app").getString("token"));
    assertThat(states).containsSubsequence(SessionState.REGISTERING, SessionState.READY);
    assertThat(broker.snapshot().session()).isEqualTo(session);
    assertThat(broker.application().apiPort()).as("api.enabled=false opens no port").isEqualTo(-1);

    Session refreshed = await(sessions.refresh());
    assertThat(refreshed.token()).isNotEqualTo(session.token()).isEqualTo(cloud.agent(key, "app").getString("token"));
    Await.until("online", () -> presence.contains(PresenceState.ONLINE));

    // Another installation takes the agent over (in its own Vert.x: one broker per Vert.x).
    Vertx otherMachine = Vertx.vertx();
    RelayBroker other = await(RelayBroker.deploy(otherMachine, options("app", "b").setReclaim(ReclaimPolicy.ALWAYS)));
    Await.until("superseded", () -> states.contains(SessionState.SUPERSEDED));
    Throwable refused = awaitFailure(sessions.get());
    assertThat(refused).isInstanceOf(SessionUnavailable.class);
    assertThat(((SessionUnavailable) refused).failureCode()).isEqualTo(409);
    assertThat(((SessionUnavailable) refused).failure().cause()).isEqualTo(FailureCause.AGENT_SUPERSEDED);

    await(other.stop());
    await(otherMachine.close());
    await(broker.stop());
    assertThat(cloud.requestLines()).contains("PATCH /v1/agents/app workspace-key 200");
    assertThat(cloud.agent(key, "app").getString("status")).isEqualTo("offline");
  }

  @Test
  void twoBrokersWithDifferentNamesRunInOneVertxEachOnItsOwnBus() {
    RelayBroker alpha = await(RelayBroker.deploy(vertx, options("alpha", "alpha").setBusName("alpha")));
    RelayBroker beta = await(RelayBroker.deploy(vertx, options("beta", "beta").setBusName("beta")));

    Session alphaSession = await(SessionClient.create(vertx, "alpha").get());
    Session betaSession = await(SessionClient.create(vertx, "beta").get());

    assertThat(alphaSession.agentName()).isEqualTo("alpha");
    assertThat(betaSession.agentName()).isEqualTo("beta");
    assertThat(alphaSession.token()).isEqualTo(cloud.agent(key, "alpha").getString("token"));
    assertThat(betaSession.token()).isEqualTo(cloud.agent(key, "beta").getString("token"));
    Session refreshed = await(SessionClient.create(vertx, "beta").refresh());
    assertThat(refreshed.agentName()).isEqualTo("beta");
    assertThat(await(SessionClient.create(vertx, "alpha").get()).token()).as("alpha untouched").isEqualTo(alphaSession.token());
    assertThat(alpha.snapshot().session().agentName()).isEqualTo("alpha");
    await(alpha.stop());
    await(beta.stop());
    assertThat(cloud.requestLines()).contains("PATCH /v1/agents/alpha workspace-key 200", "PATCH /v1/agents/beta workspace-key 200");
  }

  @Test
  void withoutACloudTheBrokerRefusesToStartAndNamesWhatIsMissing() {
    BrokerOptions none = new BrokerOptions().setName("app").setStateDir(tmp.resolve("c").toString());

    Throwable refused = awaitFailure(RelayBroker.deploy(vertx, none));

    assertThat(refused).isInstanceOf(ConfigInvalidException.class);
    assertThat(((ConfigInvalidException) refused).problems()).anyMatch(p -> p.contains("set cloud.baseUrl and/or cloud.workspaceKey"));
  }
}
