package dev.relaybroker.identity;

import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.PresenceOptions;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.Machine;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded chaos: many runs of random, recoverable fault sequences through start, refresh and restart. After every
 * phase the broker must be ready, serve the token the cloud considers current (no token stranded), and hold a
 * cache that is valid JSON with that same token. Reproduce a run with -Drelay.chaos.seed=S -Drelay.chaos.runs=N.
 */
class ChaosTest {
  private static final String[][] STEPS = {
    {"POST", "/v1/agents"}, {"GET", "/v1/agents/*"}, {"POST", "/v1/agents/*/takeover"}, {"POST", "/v1/agents/*/rotate-token"}};
  private static final String[] FAULTS = {"500", "502", "503", "429", "timeout", "reset", "malformed", "html", "empty", "401-rotate", "404-rotate"};

  @TempDir
  Path tmp;

  /** Longer than the brokers' request timeout here (150 ms): the broker gives up, the cloud still acts. */
  private static final int DELAY_MS = 250;
  private static boolean delayedThisRun;
  private static boolean delayedThisPhase;
  private int healedAtNextUse;
  private int phasesWithALateTokenChange;

  @Test
  void randomFaultSequencesNeverStrandATokenOrEndInAWrongState() throws Exception {
    long seed = Long.getLong("relay.chaos.seed", System.currentTimeMillis());
    int runs = Integer.getInteger("relay.chaos.runs", 300);
    System.out.println("chaos: seed " + seed + ", " + runs + " runs (rerun with -Drelay.chaos.seed=" + seed + ")");
    Random random = new Random(seed);
    int faultsInjected = 0;
    try (EmulatorDriver emulator = EmulatorDriver.start(Engine.CURRENT)) {
      for (int run = 0; run < runs; run++) {
        String key = emulator.createWorkspace();
        Path stateDir = Files.createDirectories(tmp.resolve("run-" + run));
        BrokerOptions options = Machine.options(emulator, key, "agent-" + (run % 7), stateDir)
          .setPresence(new PresenceOptions().setEnabled(false));
        options.getCloud().setRequestTimeoutMs(150).setRetryInitialDelayMs(1).setRetryMaxDelayMs(5);
        String context = "seed " + seed + " run " + run;
        delayedThisRun = false;
        try {
          faultsInjected += injectRandomFaults(emulator, random);
          try (Machine broker = Machine.start(options)) {
            check(emulator, key, broker, settle(emulator, key, broker, broker.awaitReady()), stateDir, context + " start");
            faultsInjected += injectRandomFaults(emulator, random);
            check(emulator, key, broker, settle(emulator, key, broker, broker.refresh()), stateDir, context + " refresh");
          }
          boolean firstBrokerDelayed = delayedThisRun;
          faultsInjected += injectRandomFaults(emulator, random);
          if (random.nextBoolean()) {
            // Half the restarts come without a cache: the 409, read, takeover path.
            Files.deleteIfExists(stateDir.resolve(CredentialCache.FILE_NAME));
          }
          if (firstBrokerDelayed) {
            // A request the first broker gave up on (150 ms) is still carried out by the cloud when its delay
            // (250 ms) ends: a late takeover there would replace the token the restart is about to be given, as a
            // real cloud's would. The restart's invariant holds once the cloud has finished its earlier work.
            Thread.sleep(DELAY_MS + 50);
          }
          try (Machine broker = Machine.start(options)) {
            check(emulator, key, broker, settle(emulator, key, broker, broker.awaitReady()), stateDir, context + " restart");
          }
        } finally {
          emulator.clearFaults();
        }
      }
    }
    System.out.println("chaos: " + runs + " runs, " + faultsInjected + " faults injected, " + healedAtNextUse
      + " late takeovers healed at the next use (of " + phasesWithALateTokenChange + " phases that could have one), 0 wrong end states");
    // Only a phase with a delayed takeover or rotation can need a heal, and not every one of them does.
    assertThat(healedAtNextUse).as("heals").isLessThanOrEqualTo(phasesWithALateTokenChange);
    assertThat(healedAtNextUse).as("heals, at most half the phases that could need one")
      .isLessThanOrEqualTo(Math.max(2, phasesWithALateTokenChange / 2));
  }

  /**
   * A phase whose faults included a delay may have left the cloud acting after the broker gave up and went on: a
   * takeover or rotation whose reply was lost lands after ready and replaces the token just served. With presence
   * off nothing can tell the broker then (with it on, the cloud's 4001 does); the next use must. So wait until the
   * cloud is done, and if the token served is no longer current, the next refresh has to heal it.
   */
  private JsonObject settle(EmulatorDriver emulator, String key, Machine broker, JsonObject session) throws InterruptedException {
    if (!delayedThisPhase) {
      return session;
    }
    phasesWithALateTokenChange++;
    Thread.sleep(DELAY_MS + 50);
    String current = emulator.agent(key, session.getString("agentName")).getString("token");
    if (session.getString("token").equals(current)) {
      return session;
    }
    // Healed only if the cloud changed the token after the broker resolved the one it served: a token already
    // replaced when it was resolved would be a stranded token, not a late request landing.
    long replacedAt = emulator.admin("POST", "/_emulator/agents/tokens", new JsonObject().put("workspace_key", key)
        .put("name", session.getString("agentName")), 200).getJsonArray("data").stream().map(o -> (JsonObject) o)
      .filter(h -> h.getString("token").equals(current)).findFirst().orElseThrow().getLong("issued_at_ms");
    assertThat(replacedAt).as("the token served (resolved at %s) was replaced later", session.getString("resolvedAt"))
      .isGreaterThanOrEqualTo(java.time.Instant.parse(session.getString("resolvedAt")).toEpochMilli());
    healedAtNextUse++;
    emulator.clearFaults();
    return broker.refresh();
  }

  private static int injectRandomFaults(EmulatorDriver emulator, Random random) {
    emulator.clearFaults();
    delayedThisPhase = false;
    int count = random.nextInt(4);
    for (int i = 0; i < count; i++) {
      String[] step = STEPS[random.nextInt(STEPS.length)];
      String fault = FAULTS[random.nextInt(FAULTS.length)];
      JsonObject rule = new JsonObject().put("method", step[0]).put("path", step[1]).put("count", 1 + random.nextInt(2));
      switch (fault) {
        case "429" -> rule.put("status", 429).put("retry_after", 0);
        case "timeout" -> {
          rule.put("kind", "delay").put("delay_ms", DELAY_MS);
          delayedThisRun = true;
          // Only a late takeover or rotation changes the token (a late register meets a 409, a late read nothing).
          delayedThisPhase |= step[1].endsWith("/takeover") || step[1].endsWith("/rotate-token");
        }
        case "reset", "malformed", "html", "empty" -> rule.put("kind", fault);
        // Refusals a cached-token rollover recovers from; only meaningful on rotate-token.
        case "401-rotate" -> rule.put("method", "POST").put("path", "/v1/agents/*/rotate-token").put("status", 401);
        case "404-rotate" -> rule.put("method", "POST").put("path", "/v1/agents/*/rotate-token").put("status", 404).put("code", "agent_not_found");
        default -> rule.put("status", Integer.parseInt(fault));
      }
      emulator.fault(rule);
    }
    return count;
  }

  private static void check(EmulatorDriver emulator, String key, Machine broker, JsonObject session, Path stateDir, String context)
    throws Exception {
    String current = emulator.agent(key, session.getString("agentName")).getString("token");
    assertThat(broker.lastState()).as(context).contains("ready");
    assertThat(session.getString("token")).as(context + ": served token is current").isEqualTo(current);
    JsonObject cache = new JsonObject(Files.readString(stateDir.resolve(CredentialCache.FILE_NAME)));
    assertThat(cache.getString("agent_token")).as(context + ": cached token is current").isEqualTo(current);
    List<String> leftovers = new ArrayList<>();
    try (var files = Files.list(stateDir)) {
      files.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tmp-")).forEach(leftovers::add);
    }
    assertThat(leftovers).as(context + ": temp files").isEmpty();
  }
}
