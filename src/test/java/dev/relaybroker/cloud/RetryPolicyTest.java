package dev.relaybroker.cloud;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one retry rule of identity, channels and presence (pure): exponential backoff with jitter in [d/2, d],
 * capped, Retry-After winning when longer; a limit on attempts or none; a streak's log, the first waits line by
 * line and then one line an interval that counts the quiet ones.
 */
class RetryPolicyTest {
  private static final int DRAWS = 200;

  private static LongStream draws(RetryPolicy policy, int attempt, Long retryAfterMs) {
    return LongStream.range(0, DRAWS).map(i -> policy.delayMs(attempt, retryAfterMs));
  }

  @Test
  void theNthWaitIsDrawnBetweenHalfAndAllOfTheDoubledInitialDelay() {
    RetryPolicy policy = RetryPolicy.backoff(100, 100_000);
    assertThat(draws(policy, 1, null)).allSatisfy(d -> assertThat(d).isBetween(50L, 100L));
    assertThat(draws(policy, 2, null)).allSatisfy(d -> assertThat(d).isBetween(100L, 200L));
    assertThat(draws(policy, 4, null)).allSatisfy(d -> assertThat(d).isBetween(400L, 800L));
    // Both ends of the range are reached (jitter, not a constant): over 200 draws of [4, 8], 4 and 8 both appear.
    RetryPolicy small = RetryPolicy.backoff(8, 8);
    assertThat(draws(small, 1, null).distinct().sorted()).containsExactly(4L, 5L, 6L, 7L, 8L);
  }

  @Test
  void attemptZeroOrBelowCountsAsTheFirst() {
    RetryPolicy policy = RetryPolicy.backoff(100, 100_000);
    assertThat(draws(policy, 0, null)).allSatisfy(d -> assertThat(d).isBetween(50L, 100L));
    assertThat(draws(policy, -3, null)).allSatisfy(d -> assertThat(d).isBetween(50L, 100L));
  }

  @Test
  void theCeilingIsTheMaximumDelayAndHugeAttemptsDoNotOverflow() {
    RetryPolicy policy = RetryPolicy.backoff(100, 1_000);
    assertThat(draws(policy, 5, null)).allSatisfy(d -> assertThat(d).isBetween(500L, 1_000L));
    assertThat(draws(policy, 31, null)).allSatisfy(d -> assertThat(d).isBetween(500L, 1_000L));
    assertThat(draws(policy, Integer.MAX_VALUE, null)).allSatisfy(d -> assertThat(d).isBetween(500L, 1_000L));
    // 2^30 doublings at most: the shift stays within a long.
    RetryPolicy uncapped = RetryPolicy.backoff(1, Long.MAX_VALUE);
    assertThat(draws(uncapped, 40, null)).allSatisfy(d -> assertThat(d).isBetween(1L << 29, 1L << 30));
  }

  @Test
  void aLongerRetryAfterWinsAndAShorterOneDoesNot() {
    RetryPolicy policy = RetryPolicy.backoff(100, 1_000);
    assertThat(draws(policy, 1, 5_000L)).allSatisfy(d -> assertThat(d).isEqualTo(5_000L));
    assertThat(draws(policy, 1, 10L)).allSatisfy(d -> assertThat(d).isBetween(50L, 100L));
  }

  @Test
  void neverLessThanOneMillisecond() {
    assertThat(draws(RetryPolicy.backoff(1, 1), 1, 0L)).allSatisfy(d -> assertThat(d).isEqualTo(1L));
    assertThat(draws(RetryPolicy.backoff(0, 0), 1, null)).allSatisfy(d -> assertThat(d).isEqualTo(1L));
  }

  @Test
  void aStreakCountsItsAttemptsAndEachWaitGrowsWithThem() {
    RetryPolicy.Streak streak = RetryPolicy.backoff(100, 100_000).streak();
    RetryPolicy.Wait first = streak.failed(true, null);
    RetryPolicy.Wait third = null;
    streak.failed(true, null);
    third = streak.failed(true, null);
    assertThat(first.attempt()).isEqualTo(1);
    assertThat(first.delayMs()).isBetween(50L, 100L);
    assertThat(third.attempt()).isEqualTo(3);
    assertThat(third.delayMs()).isBetween(200L, 400L);
    assertThat(streak.attempts()).isEqualTo(3);
    streak.recovered();
    assertThat(streak.attempts()).isZero();
    assertThat(streak.failed(true, null).delayMs()).as("after a recovery the waits start short again").isBetween(50L, 100L);
  }

  @Test
  void aLimitedPolicyGivesUpAtItsLastAttemptAndAnUnlimitedOneNever() {
    RetryPolicy.Streak limited = RetryPolicy.backoff(1, 1).upTo(3).streak();
    assertThat(limited.failed(true, null)).isNotNull();
    assertThat(limited.failed(true, null)).isNotNull();
    assertThat(limited.failed(true, null)).as("the third failure of three attempts").isNull();
    RetryPolicy.Streak unlimited = RetryPolicy.backoff(1, 1).streak();
    for (int i = 0; i < 10_000; i++) {
      assertThat(unlimited.failed(true, null)).isNotNull();
    }
  }

  @Test
  void aFailureThatIsNotTransientEndsTheStreakAtOnceWithOrWithoutALimit() {
    assertThat(RetryPolicy.backoff(1, 1).streak().failed(false, null)).isNull();
    assertThat(RetryPolicy.backoff(1, 1).upTo(5).streak().failed(false, 1_000L)).isNull();
  }

  @Test
  void aDayOfRetriesEveryTwoSecondsWritesTheFirstThreeAndThenOneLineEveryTenMinutes() {
    AtomicLong now = new AtomicLong(1_000_000);
    RetryPolicy.Streak streak = RetryPolicy.backoff(2000, 2000).loggingOnceEvery(RetryPolicy.DEFAULT_QUIET_INTERVAL_MS, now::get).streak();
    List<String> lines = new ArrayList<>();
    for (int wait = 0; wait < 24 * 1800; wait++) {
      lines.add(streak.logLine("register failed (cloud_unreachable); retrying in 2 s"));
      now.addAndGet(2000);
    }
    List<String> logged = lines.stream().filter(Objects::nonNull).toList();
    assertThat(logged).hasSize(3 + 24 * 6 - 1);
    assertThat(logged.get(2)).endsWith("further retries are logged once every 10 min");
    assertThat(logged.get(3)).contains("(299 more retries since the last line");
    assertThat(String.join("\n", logged).length()).as("bytes a day").isLessThan(40_000);
  }

  @Test
  void theQuietIntervalIsSaidInMinutesFromOneMinuteOnAndInSecondsBelow() {
    AtomicLong now = new AtomicLong(0);
    assertThat(thirdLine(RetryPolicy.backoff(1, 1).loggingOnceEvery(60_000, now::get).streak())).endsWith("once every 1 min");
    assertThat(thirdLine(RetryPolicy.backoff(1, 1).loggingOnceEvery(30_000, now::get).streak())).endsWith("once every 30 s");
  }

  private static String thirdLine(RetryPolicy.Streak streak) {
    streak.logLine("a");
    streak.logLine("b");
    return streak.logLine("c");
  }

  @Test
  void aRecoveryStartsANewStreakLoggedInFull() {
    AtomicLong now = new AtomicLong(0);
    RetryPolicy.Streak streak = RetryPolicy.backoff(1, 1).loggingOnceEvery(60_000, now::get).streak();
    for (int i = 0; i < 10; i++) {
      streak.logLine("x");
    }
    assertThat(streak.logLine("x")).isNull();
    streak.recovered();
    assertThat(streak.logLine("y")).isEqualTo("y");
    assertThat(streak.logLine("y")).isEqualTo("y");
  }
}
