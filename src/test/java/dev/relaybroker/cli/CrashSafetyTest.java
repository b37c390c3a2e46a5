package dev.relaybroker.cli;

import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.EmulatorDriver;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGKILL at random moments of a real broker's start, while it writes identity.key, connection.json and
 * credentials.json: every file left behind parses, and the next start recovers (stale lock, socket and
 * connection.json taken over) with the same agent id.
 */
class CrashSafetyTest {
  @TempDir
  Path cwd;

  @Test
  void killedAtRandomMomentsLeavesOnlyWholeFilesAndTheNextStartRecovers() throws Exception {
    int kills = Integer.getInteger("relay.crash.kills", 30);
    long seed = Long.getLong("relay.crash.seed", System.currentTimeMillis());
    Random random = new Random(seed);
    System.out.println("crash safety: seed " + seed + ", " + kills + " kills");
    Path state = cwd.resolve(".agentworkforce/relay");
    Set<String> agentIds = new HashSet<>();
    try (EmulatorDriver emulator = EmulatorDriver.start(Engine.CURRENT)) {
      String key = emulator.createWorkspace();
      Map<String, String> env = Map.of("RELAY_BASE_URL", emulator.baseUrl(), "RELAY_API_KEY", key);
      Path credentials = state.resolve("credentials.json");
      int killedAfterAWrite = 0;
      for (int kill = 0; kill < kills; kill++) {
        String before = Files.exists(credentials) ? Files.readString(credentials) : null;
        try (BrokerProcess broker = BrokerProcess.start(cwd, env, "up", "--name", "alpha")) {
          // Wait for the listening line (the JVM is up), then kill somewhere in the window of the writes; every
          // tenth time, right after this start wrote its credentials, so the kills surely include that moment.
          Await.until("listening", () -> !broker.stdout().isEmpty() || !broker.isAlive());
          if (kill % 10 == 9) {
            Await.until("credentials written by this start", java.time.Duration.ofSeconds(20),
              () -> !broker.isAlive() || !java.util.Objects.equals(before, readOrNull(credentials)));
          } else {
            Thread.sleep(random.nextInt(250));
          }
          broker.kill();
        }
        assertEveryFileIsWhole(state, "kill " + kill + " (seed " + seed + ")");
        String after = readOrNull(credentials);
        if (after != null && !after.equals(before)) {
          killedAfterAWrite++;
          agentIds.add(new JsonObject(after).getString("agent_id"));
        }
      }
      System.out.println("crash safety: " + kills + " kills, " + killedAfterAWrite + " after that start wrote its credentials");
      assertThat(killedAfterAWrite).as("kills that landed after the start wrote its credentials").isGreaterThanOrEqualTo(kills / 10);

      try (BrokerProcess survivor = BrokerProcess.start(cwd, env, "up", "--name", "alpha")) {
        Await.until("ready after all the kills", () -> {
          try {
            return Files.exists(state.resolve("credentials.json"))
              && new JsonObject(Files.readString(state.resolve("credentials.json"))).getString("agent_token", "")
                .equals(emulator.agent(key, "alpha").getString("token"))
              && Files.exists(state.resolve("connection.json"))
              && new JsonObject(Files.readString(state.resolve("connection.json"))).getLong("pid") == survivor.pid();
          } catch (Exception e) {
            return false;
          }
        });
        assertThat(emulator.agents(key)).as("one agent, however often the broker died").hasSize(1);
        agentIds.add(emulator.agent(key, "alpha").getString("id"));
        assertThat(agentIds).as("the same agent id throughout").hasSize(1);
        try (var files = Files.list(state)) {
          assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tmp-")).toList())
            .as("temp files cleaned").isEmpty();
        }
      }
    }
  }

  private static String readOrNull(Path file) {
    try {
      return Files.readString(file);
    } catch (java.io.IOException absentOrReplaced) {
      return null;
    }
  }

  private static void assertEveryFileIsWhole(Path state, String context) throws Exception {
    if (!Files.isDirectory(state)) {
      return;
    }
    for (String json : List.of("credentials.json", "connection.json")) {
      Path file = state.resolve(json);
      if (Files.exists(file)) {
        String text = Files.readString(file);
        assertThat(new JsonObject(text)).as(context + ": " + json).isNotNull();
      }
    }
    Path identity = state.resolve("identity.key");
    if (Files.exists(identity)) {
      assertThat(Files.size(identity)).as(context + ": identity.key").isEqualTo(32);
    }
  }
}
