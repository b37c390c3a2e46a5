package dev.relaybroker.identity;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import io.vertx.core.json.JsonObject;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The table's rules held by the real verticles on the emulator: a bounded number of random sequences (client
 * refreshes, cloud faults on the rollover, the agent removed or taken over behind the broker's back, a stop) run
 * against one broker each; after every step, what the broker published must keep the rules. Bounded to a few
 * tries of up to 8 steps so that it stays well under a minute.
 */
class BrokerLifeOnTheEmulatorTest {
  private static EmulatorDriver emulator;
  private static Path root;

  @BeforeContainer
  static void startEmulator() throws IOException {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    root = Files.createTempDirectory("broker-life");
  }

  @AfterContainer
  static void stopEmulator() {
    emulator.close();
  }

  @Property(tries = 6, shrinking = net.jqwik.api.ShrinkingMode.OFF)
  void theRealBrokerKeepsTheRulesOfItsLife(@ForAll("lives") ActionChain<Broker> chain) {
    chain
      .withInvariant("nothing leaves stopping", Broker::checkStoppingAbsorbs)
      .withInvariant("every cause belongs to its own state", Broker::checkCauses)
      .withInvariant("a withdrawn token is never served again", Broker::checkWithdrawnStayWithdrawn)
      .run();
    // The last step may have left work under way: stop, wait, and check the whole history once more.
    chain.finalState().ifPresent(Broker::close);
  }

  @Provide
  Arbitrary<ActionChain<Broker>> lives() {
    return ActionChain.<Broker>startWith(Broker::start)
      .withAction(3, (Action.Independent<Broker>) () -> Arbitraries.just(Transformer.mutate("client: refresh", Broker::refresh)))
      .withAction(1, (Action.Independent<Broker>) () -> Arbitraries.of(503, 401).map(status ->
        Transformer.mutate("cloud: the next rollover answers " + status, broker -> broker.failNextRollover(status))))
      .withAction(1, (Action.Independent<Broker>) () -> Arbitraries.just(Transformer.mutate("cloud: the agent is removed", Broker::removeAgent)))
      .withAction(1, (Action.Independent<Broker>) () -> Arbitraries.just(Transformer.mutate("another tool rolls the token over", Broker::stealToken)))
      .withAction(1, (Action.Independent<Broker>) () -> Arbitraries.just(Transformer.mutate("stop asked", Broker::stop)))
      .withMaxTransformations(8);
  }

  /** One broker and all it published. */
  static final class Broker {
    private static int count;
    private final String key;
    private final String name;
    private final Machine machine;
    /** (state, token or null) of every snapshot, in order. */
    private final List<String[]> snapshots = new CopyOnWriteArrayList<>();
    private boolean closed;

    private Broker(String key, String name, Machine machine) {
      this.key = key;
      this.name = name;
      this.machine = machine;
    }

    static Broker start() {
      String key = emulator.createWorkspace();
      String name = "life-" + (++count);
      BrokerOptions options = Machine.options(emulator, key, name, root.resolve(name));
      Machine machine = Machine.start(options);
      Broker broker = new Broker(key, name, machine);
      machine.vertx().eventBus().<SessionSnapshot>localConsumer(Addresses.SESSION_SNAPSHOT, m -> broker.snapshots.add(
        new String[] {m.body().state().wireName(), m.body().session() == null ? null : m.body().session().token()}));
      machine.awaitReady();
      return broker;
    }

    void refresh() {
      if (!closed) {
        machine.vertx().eventBus().request(Addresses.SESSION_REFRESH, new JsonObject());
        settle();
      }
    }

    void failNextRollover(int status) {
      emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents/" + name + "/rotate-token")
        .put("status", status).put("count", 1));
    }

    void removeAgent() {
      if (emulator.agent(key, name) != null) {
        emulator.admin("POST", "/_emulator/agents/remove", new JsonObject().put("workspace_key", key).put("name", name), 200);
      }
      settle();
    }

    void stealToken() {
      JsonObject agent = emulator.agent(key, name);
      if (agent != null) {
        io.vertx.ext.web.client.WebClient web = io.vertx.ext.web.client.WebClient.create(emulator.vertx());
        try {
          dev.relaybroker.support.Await.await(web.postAbs(emulator.baseUrl() + "/v1/agents/" + name + "/rotate-token")
            .bearerTokenAuthentication(agent.getString("token")).send());
        } finally {
          web.close();
        }
      }
      settle();
    }

    void stop() {
      if (!closed) {
        closed = true;
        machine.close();
      }
    }

    void close() {
      stop();
      emulator.clearFaults();
      checkStoppingAbsorbs();
      checkCauses();
      checkWithdrawnStayWithdrawn();
    }

    /** Lets the step's consequences arrive: the emulator answers within milliseconds, retries take tens. */
    private static void settle() {
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    void checkStoppingAbsorbs() {
      List<String> states = machine.stateNames();
      int stopping = states.indexOf("stopping");
      if (stopping >= 0) {
        assertThat(states.subList(stopping, states.size())).as("states from the stop on").containsOnly("stopping");
      }
    }

    void checkCauses() {
      Set<String> withCause = Set.of("retrying", "failed", "superseded");
      assertThat(machine.states()).as("state events").allSatisfy(event -> {
        if (!withCause.contains(event.getString("state"))) {
          assertThat(event.getString("cause")).as("cause of " + event.getString("state")).isNull();
        }
      });
    }

    void checkWithdrawnStayWithdrawn() {
      Set<String> withdrawn = new HashSet<>();
      String served = null;
      List<String[]> seen = new ArrayList<>(snapshots);
      for (String[] snapshot : seen) {
        String token = snapshot[1];
        assertThat(withdrawn).as("a token served again after it was withdrawn (state " + snapshot[0] + ")").doesNotContain(token);
        if (served != null && !served.equals(token)) {
          withdrawn.add(served);
        }
        served = token;
      }
    }

    @Override
    public String toString() {
      return "Broker[" + name + ", states=" + machine.stateNames() + "]";
    }
  }
}
