package dev.relaybroker.identity;

import dev.relaybroker.bus.Addresses;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import io.vertx.core.eventbus.DeliveryOptions;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The table's rules held by the real verticles on the emulator (issue 21's model-based test, the half that runs on
 * sockets; {@link BrokerLifeModelTest} walks the pure table thousands of times). Each try starts one ephemeral
 * broker and feeds it a random sequence: client refreshes and lease renewals; the cloud answering the next rollover
 * or registration with 503, 500, 401 or 404, slowly, or losing the reply; the agent removed, its token rolled over
 * by another tool, the agent shown online elsewhere; realtime events pushed to the agent; time passing beyond the
 * refusal grace; a stop. After every step, what the broker published must keep the rules below. A failing sequence
 * is shrunk and printed as its steps ("cloud: the next rollover loses its reply", "client: refresh", …).
 *
 * <p>Tries: {@code relay.life.tries} (default 40, about 40 s, so that {@code scripts/test} stays within its budget;
 * {@code scripts/test -Drelay.life.tries=2000} for a long run).
 */
class BrokerLifeOnTheEmulatorTest {
  /** The refusal grace of these brokers: a refused broker nobody renews stops itself after it. */
  private static final long GRACE_MS = 1000;
  /** How late the lease may fire after its deadline (its check runs every second) and how early we may see it. */
  private static final long LEASE_SLACK_MS = 1600;

  private static EmulatorDriver emulator;
  private static Path root;

  @BeforeContainer
  static void startEmulator() throws IOException {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    root = Files.createTempDirectory("broker-life");
  }

  @AfterContainer
  static void stopEmulator() throws IOException {
    emulator.close();
    try (var files = Files.walk(root)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }

  @Property(tries = 40, shrinking = net.jqwik.api.ShrinkingMode.BOUNDED, afterFailure = net.jqwik.api.AfterFailureMode.RANDOM_SEED)
  @net.jqwik.api.lifecycle.AddLifecycleHook(TriesFromSystemProperty.class)
  void theRealBrokerKeepsTheRulesOfItsLife(@ForAll("lives") ActionChain<Broker> chain) {
    try {
      chain
        .withInvariant("nothing leaves stopping", Broker::checkStoppingAbsorbs)
        .withInvariant("every cause belongs to its own state", Broker::checkCauses)
        .withInvariant("a withdrawn token is never served again", Broker::checkWithdrawnStayWithdrawn)
        .withInvariant("per agent, no realtime event the cloud delivered is lost, repeated or reordered", Broker::checkEvents)
        .withInvariant("the lease fires only by its rule", Broker::checkLease)
        .run();
    } finally {
      // The last step may have left work under way: stop, wait, and check the whole history once more.
      chain.finalState().ifPresent(Broker::close);
    }
  }

  /** {@code -Drelay.life.tries=N} replaces the 40 tries of a {@code scripts/test} run, for a long run. */
  public static final class TriesFromSystemProperty implements net.jqwik.api.lifecycle.AroundPropertyHook {
    @Override
    public net.jqwik.api.lifecycle.PropertyExecutionResult aroundProperty(net.jqwik.api.lifecycle.PropertyLifecycleContext context,
                                                                        net.jqwik.api.lifecycle.PropertyExecutor property) {
      Integer tries = Integer.getInteger("relay.life.tries");
      if (tries != null) {
        context.attributes().setTries(tries);
      }
      return property.execute();
    }
  }

  @Provide
  Arbitrary<ActionChain<Broker>> lives() {
    return ActionChain.<Broker>startWith(Broker::start)
      .withAction(4, step("client: refresh", Broker::refresh))
      .withAction(2, step("client: renew the lease", Broker::renew))
      .withAction(3, (Action.Independent<Broker>) () -> Arbitraries.of(CloudFault.values()).flatMap(fault ->
        Arbitraries.of("rollover", "registration").map(call ->
          Transformer.mutate("cloud: the next " + call + " " + fault.description, broker -> broker.fault(call, fault)))))
      .withAction(1, step("cloud: the agent is removed", Broker::removeAgent))
      .withAction(1, step("another tool rolls the token over", Broker::stealToken))
      .withAction(1, step("the agent shows online elsewhere", Broker::onlineElsewhere))
      .withAction(3, step("cloud: an event for the agent", Broker::pushEvent))
      .withAction(1, step("time passes beyond the refusal grace", Broker::waitBeyondGrace))
      .withAction(1, step("stop asked", Broker::stop))
      .withAction(1, step("client: refresh, and the stop asked at once", Broker::refreshThenStop))
      .withMaxTransformations(12);
  }

  private static Action.Independent<Broker> step(String description, java.util.function.Consumer<Broker> what) {
    return () -> Arbitraries.just(Transformer.mutate(description, what::accept));
  }

  /** What the cloud does to the next call of one kind. */
  enum CloudFault {
    UNAVAILABLE("answers 503", new JsonObject().put("status", 503)),
    SERVER_ERROR("answers 500", new JsonObject().put("status", 500)),
    UNAUTHORIZED("answers 401", new JsonObject().put("status", 401)),
    NOT_FOUND("answers 404", new JsonObject().put("status", 404).put("code", "agent_not_found")),
    SLOW("takes 400 ms", new JsonObject().put("kind", "delay").put("delay_ms", 400)),
    LOST_REPLY("loses its reply", new JsonObject().put("kind", "drop"));

    final String description;
    final JsonObject rule;

    CloudFault(String description, JsonObject rule) {
      this.description = description;
      this.rule = rule;
    }
  }

  /** One broker and all it published, each with when it arrived. */
  static final class Broker {
    private static int count;
    private final String key;
    private final String name;
    private final Machine machine;
    /** (state, token or null) of every snapshot, in order. */
    private final List<String[]> snapshots = new CopyOnWriteArrayList<>();
    /** (state, cause, arrival ms) of every state event, in order. */
    private final List<Object[]> states = new CopyOnWriteArrayList<>();
    /** (agent id, agent_seq) of every realtime event the broker forwarded, in order. */
    private final List<Object[]> received = new CopyOnWriteArrayList<>();
    /** (agent id, agent_seq) of every event the emulator says it delivered to a connection. */
    private final List<Object[]> delivered = new ArrayList<>();
    /** When the lease was renewed: the start, then each renewal the sequence sent. */
    private final List<Long> renewals = new CopyOnWriteArrayList<>(List.of(System.currentTimeMillis()));
    private boolean stopAsked;
    private boolean closed;

    private Broker(String key, String name, Machine machine) {
      this.key = key;
      this.name = name;
      this.machine = machine;
    }

    static Broker start() {
      String key = emulator.createWorkspace();
      String name = "life-" + (++count);
      BrokerOptions options = Machine.options(emulator, key, name, root.resolve(name)).setMode(BrokerMode.EPHEMERAL)
        .setFailedGraceSecs(GRACE_MS / 1000);
      options.getCloud().setRetryMaxAttempts(3);
      Machine machine = Machine.start(options);
      Broker broker = new Broker(key, name, machine);
      var bus = machine.vertx().eventBus();
      bus.<SessionSnapshot>localConsumer(Addresses.SESSION_SNAPSHOT, m -> broker.snapshots.add(
        new String[] {m.body().state().wireName(), m.body().session() == null ? null : m.body().session().token()}));
      bus.<JsonObject>consumer(Addresses.SESSION_STATE, m -> broker.states.add(
        new Object[] {m.body().getString("state"), m.body().getString("cause"), System.currentTimeMillis()}));
      bus.<JsonObject>localConsumer(Addresses.EVENTS, m -> broker.received.add(
        new Object[] {m.body().getString("for_agent"), m.body().getLong("agent_seq")}));
      machine.awaitReady();
      return broker;
    }

    void refresh() {
      if (!closed) {
        machine.vertx().eventBus().request(Addresses.SESSION_REFRESH, new JsonObject());
        settle();
      }
    }

    void renew() {
      if (!closed) {
        renewals.add(System.currentTimeMillis());
        machine.vertx().eventBus().send(Addresses.LEASE_RENEW, null, new DeliveryOptions().setLocalOnly(true));
        settle();
      }
    }

    void fault(String call, CloudFault fault) {
      String path = call.equals("rollover") ? "/v1/agents/" + name + "/rotate-token" : "/v1/agents";
      emulator.fault(fault.rule.copy().put("method", "POST").put("path", path).put("count", 1));
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
        } catch (RuntimeException lostReply) {
          // A fault meant for the broker's next rollover met this call instead: it rotated, its reply was lost.
        } finally {
          web.close();
        }
      }
      settle();
    }

    void onlineElsewhere() {
      if (emulator.agent(key, name) != null) {
        emulator.setStatus(key, name, "online");
      }
      settle();
    }

    /** The emulator numbers each agent's events from 1 and says to how many connections it delivered each. */
    void pushEvent() {
      JsonObject agent = emulator.agent(key, name);
      if (agent != null) {
        String agentId = agent.getString("id");
        JsonObject answer = emulator.admin("POST", "/_emulator/agents/event", new JsonObject().put("workspace_key", key)
          .put("name", name).put("event", new JsonObject().put("for_agent", agentId)), 200).getJsonObject("data");
        if (answer.getLong("delivered", 0L) > 0) {
          delivered.add(new Object[] {agentId, answer.getLong("agent_seq")});
        }
      }
      settle();
    }

    /**
     * Time passes, so that the lease's rule is seen at work: only in a life that was refused at some point (a broker
     * never refused has no grace to outlive, and the sleep is what makes a try slow).
     */
    void waitBeyondGrace() {
      boolean everRefused = states.stream().anyMatch(s -> "failed".equals(s[0]) && s[1] != null && !isRetryable((String) s[1]));
      if (everRefused) {
        sleep(GRACE_MS + LEASE_SLACK_MS);
      }
      settle();
    }

    /** The stop while the refresh's flow runs (a slow rollover makes it likelier): nothing may come back from it. */
    void refreshThenStop() {
      if (!closed) {
        machine.vertx().eventBus().request(Addresses.SESSION_REFRESH, new JsonObject());
        sleep(20);
        stop();
      }
    }

    void stop() {
      if (!closed) {
        stopAsked = true;
        closed = true;
        machine.close();
      }
    }

    void close() {
      boolean wasClosed = closed;
      closed = true;
      emulator.clearFaults();
      if (!wasClosed) {
        stopAsked = true;
        machine.close();
      }
      checkStoppingAbsorbs();
      checkCauses();
      checkWithdrawnStayWithdrawn();
    }

    /**
     * Lets the step's consequences arrive: until no flow runs, a ready broker is online, and nothing new was
     * published for 40 ms (the emulator answers within milliseconds, these brokers' retries wait tens), at most 3 s.
     */
    private void settle() {
      long deadline = System.currentTimeMillis() + 3000;
      int seen = -1;
      long quietSince = System.currentTimeMillis();
      while (System.currentTimeMillis() < deadline) {
        int now = snapshots.size() + states.size() + received.size();
        if (now != seen) {
          seen = now;
          quietSince = System.currentTimeMillis();
        }
        SessionSnapshot snapshot = closed ? null : machine.snapshot();
        // Busy: a flow runs, or the broker is ready and its realtime connection not open yet (it reconnects with
        // backoff); an event pushed then would not be delivered, and the step after would see less.
        boolean busy = snapshot != null && (snapshot.busy()
          || (snapshot.state() == dev.relaybroker.session.SessionState.READY && snapshot.presence() != dev.relaybroker.session.PresenceState.ONLINE));
        if (!busy && System.currentTimeMillis() - quietSince >= 40) {
          return;
        }
        sleep(5);
      }
    }

    private static void sleep(long ms) {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    void checkStoppingAbsorbs() {
      List<String> names = states.stream().map(s -> (String) s[0]).toList();
      int stopping = names.indexOf("stopping");
      if (stopping >= 0) {
        assertThat(names.subList(stopping, names.size())).as("states from the stop on").containsOnly("stopping");
      }
    }

    void checkCauses() {
      Set<String> withCause = Set.of("retrying", "failed", "superseded");
      for (Object[] state : states) {
        if (!withCause.contains((String) state[0])) {
          assertThat((String) state[1]).as("cause of " + state[0]).isNull();
        }
      }
    }

    void checkWithdrawnStayWithdrawn() {
      Set<String> withdrawn = new HashSet<>();
      String served = null;
      for (String[] snapshot : new ArrayList<>(snapshots)) {
        String token = snapshot[1];
        assertThat(withdrawn).as("a token served again after it was withdrawn (state " + snapshot[0] + ")").doesNotContain(token);
        if (served != null && !served.equals(token)) {
          withdrawn.add(served);
        }
        served = token;
      }
    }

    /** Per agent, strictly increasing sequence numbers; every delivered event arrives (given a moment to). */
    void checkEvents() {
      Map<String, Long> last = new HashMap<>();
      for (Object[] event : received) {
        String agent = (String) event[0];
        long seq = (Long) event[1];
        assertThat(seq).as("event %d of agent %s after %d", seq, agent, last.get(agent)).isGreaterThan(last.getOrDefault(agent, 0L));
        last.put(agent, seq);
      }
      for (Object[] sent : delivered) {
        dev.relaybroker.support.Await.until("event " + sent[1] + " of agent " + sent[0] + ", delivered by the cloud, forwarded",
          java.time.Duration.ofSeconds(2), () -> received.stream().anyMatch(r -> r[0].equals(sent[0]) && r[1].equals(sent[1])));
      }
    }

    /**
     * The lease of SPEC §3 with the grace of issue 21: a broker refused with a cause that needs a person and not
     * renewed for {@link #GRACE_MS} stops itself; nothing else stops it but a stop asked. Its check runs every
     * second, so it fires within {@link #LEASE_SLACK_MS} of the deadline.
     */
    void checkLease() {
      Long refusedAt = null;
      Long stoppedAt = null;
      Long refusedAtStop = null;
      for (Object[] state : states) {
        String name = (String) state[0];
        long at = (Long) state[2];
        if ("stopping".equals(name)) {
          stoppedAt = at;
          refusedAtStop = refusedAt;
          break;
        }
        boolean refusal = "failed".equals(name) && state[1] != null && !isRetryable((String) state[1]);
        if (refusal && refusedAt == null) {
          refusedAt = at;
        } else if (!"failed".equals(name)) {
          refusedAt = null;
        }
      }
      if (stoppedAt != null && !stopAsked) {
        assertThat(refusedAtStop).as("the lease stopped a broker that was not refused").isNotNull();
        long stop = stoppedAt;
        long renewedBeforeStop = renewals.stream().filter(at -> at <= stop).max(Long::compare).orElseThrow();
        long deadline = Math.max(refusedAtStop, renewedBeforeStop) + GRACE_MS;
        assertThat(stoppedAt).as("the lease fired before its deadline").isGreaterThanOrEqualTo(deadline - 200);
      }
      if (stoppedAt == null && refusedAt != null) {
        long deadline = Math.max(refusedAt, renewals.get(renewals.size() - 1)) + GRACE_MS;
        assertThat(System.currentTimeMillis()).as("a refused broker nobody renewed, still running past its deadline")
          .isLessThan(deadline + LEASE_SLACK_MS + 1500);
      }
    }

    private static boolean isRetryable(String cause) {
      return dev.relaybroker.session.FailureCause.parse(cause).retryable();
    }

    @Override
    public String toString() {
      return "Broker[" + name + ", states=" + states.stream().map(s -> (String) s[0]).toList() + "]";
    }
  }
}
