package dev.relaybroker.identity;

import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.support.Await;
import dev.relaybroker.support.CapturedLogs;
import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import dev.relaybroker.support.Machine;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Found by the soak: a persist broker retries forever, and it used to log every wait, so a day-long outage filled
 * megabytes of log. Each retry loop now logs its first waits and then one line in a while; the snapshot still
 * counts every attempt. And a cloud that accepts the realtime connection and drops it at once no longer gets a
 * reconnect at the initial delay forever: the backoff starts over only at a pong.
 */
class LongOutageTest {
  @TempDir
  Path tmp;

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();
  private EmulatorDriver emulator;
  private String key;

  @BeforeEach
  void start() {
    emulator = cloud.emulator();
    key = cloud.key();
  }

  @Test
  void fortyRegisterRetriesThroughAnOutageLogThreeLines() {
    emulator.fault(new JsonObject().put("method", "POST").put("path", "/v1/agents").put("status", 503).put("count", -1));
    int mark = CapturedLogs.mark();
    try (Machine broker = Machine.start(Machine.options(emulator, key, "alpha", tmp.resolve("a")).setMode(BrokerMode.PERSIST))) {
      Await.until("40 retries", () -> broker.lastStateEvent().getInteger("attempt", 0) >= 40);

      List<String> retryLines = CapturedLogs.since(mark).stream().filter(l -> l.contains("retrying in")).toList();
      assertThat(retryLines).hasSize(3);
      assertThat(retryLines.get(2)).contains("further retries are logged once every 10 min");
      emulator.clearFaults();
      broker.awaitReady();
    }
  }

  @Test
  void aCloudThatDropsEveryRealtimeConnectionAtOnceMeetsAGrowingBackoffAndAQuietLog() {
    emulator.fault(new JsonObject().put("path", "/v1/ws").put("kind", "drop").put("delay_ms", 0).put("count", -1));
    int mark = CapturedLogs.mark();
    try (Machine broker = Machine.start(Machine.options(emulator, key, "alpha", tmp.resolve("a")))) {
      broker.awaitReady();
      Await.until("reconnect attempt 8", () -> broker.presenceStates().stream()
        .anyMatch(p -> p.getInteger("attempt", 0) >= 8));

      // Machine's options cap the reconnect backoff at 400 ms: the waits reach the cap instead of staying at 50 ms.
      List<Long> delays = broker.presenceStates().stream().filter(p -> p.containsKey("delayMs"))
        .map(p -> p.getLong("delayMs")).toList();
      assertThat(delays.subList(delays.size() - 3, delays.size())).allSatisfy(d -> assertThat(d).isGreaterThanOrEqualTo(200));
      List<String> reconnectLines = CapturedLogs.since(mark).stream().filter(l -> l.contains("reconnecting in")).toList();
      assertThat(reconnectLines).hasSizeLessThanOrEqualTo(3);

      emulator.clearFaults();
      broker.awaitPresence("online");
    }
  }
}
