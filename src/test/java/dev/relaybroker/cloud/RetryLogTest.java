package dev.relaybroker.cloud;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** A retry streak's log: the first waits line by line, then one line an interval that counts the quiet ones. */
class RetryLogTest {

  @Test
  void aDayOfRetriesEveryTwoSecondsWritesTheFirstThreeAndThenOneLineEveryTenMinutes() {
    AtomicLong now = new AtomicLong(1_000_000);
    RetryLog log = new RetryLog(RetryLog.DEFAULT_QUIET_INTERVAL_MS, now::get);
    List<String> lines = new ArrayList<>();
    for (int wait = 0; wait < 24 * 1800; wait++) {
      lines.add(log.line("register failed (cloud_unreachable); retrying in 2 s"));
      now.addAndGet(2000);
    }
    List<String> logged = lines.stream().filter(Objects::nonNull).toList();
    assertThat(logged).hasSize(3 + 24 * 6 - 1);
    assertThat(logged.get(2)).endsWith("further retries are logged once every 10 min");
    assertThat(logged.get(3)).contains("(299 more retries since the last line");
    assertThat(String.join("\n", logged).length()).as("bytes a day").isLessThan(40_000);
  }

  @Test
  void aRecoveryStartsANewStreakLoggedInFull() {
    AtomicLong now = new AtomicLong(0);
    RetryLog log = new RetryLog(60_000, now::get);
    for (int i = 0; i < 10; i++) {
      log.line("x");
    }
    assertThat(log.line("x")).isNull();
    log.recovered();
    assertThat(log.line("y")).isEqualTo("y");
    assertThat(log.line("y")).isEqualTo("y");
  }
}
