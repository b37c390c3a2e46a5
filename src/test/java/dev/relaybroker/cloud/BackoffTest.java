package dev.relaybroker.cloud;

import org.junit.jupiter.api.Test;

import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Exponential backoff with jitter in [d/2, d], capped, with Retry-After winning when longer (pure). */
class BackoffTest {
  private static final int DRAWS = 200;

  private static LongStream draws(Backoff backoff, int attempt, Long retryAfterMs) {
    return LongStream.range(0, DRAWS).map(i -> backoff.delayMs(attempt, retryAfterMs));
  }

  @Test
  void theNthWaitIsDrawnBetweenHalfAndAllOfTheDoubledInitialDelay() {
    Backoff backoff = new Backoff(100, 100_000);
    assertThat(draws(backoff, 1, null)).allSatisfy(d -> assertThat(d).isBetween(50L, 100L));
    assertThat(draws(backoff, 2, null)).allSatisfy(d -> assertThat(d).isBetween(100L, 200L));
    assertThat(draws(backoff, 4, null)).allSatisfy(d -> assertThat(d).isBetween(400L, 800L));
    // Both ends of the range are reached (jitter, not a constant): over 200 draws of [4, 8], 4 and 8 both appear.
    Backoff small = new Backoff(8, 8);
    assertThat(draws(small, 1, null).distinct().sorted()).containsExactly(4L, 5L, 6L, 7L, 8L);
  }

  @Test
  void attemptZeroOrBelowCountsAsTheFirst() {
    Backoff backoff = new Backoff(100, 100_000);
    assertThat(draws(backoff, 0, null)).allSatisfy(d -> assertThat(d).isBetween(50L, 100L));
    assertThat(draws(backoff, -3, null)).allSatisfy(d -> assertThat(d).isBetween(50L, 100L));
  }

  @Test
  void theCeilingIsTheMaximumDelayAndHugeAttemptsDoNotOverflow() {
    Backoff backoff = new Backoff(100, 1_000);
    assertThat(draws(backoff, 5, null)).allSatisfy(d -> assertThat(d).isBetween(500L, 1_000L));
    assertThat(draws(backoff, 31, null)).allSatisfy(d -> assertThat(d).isBetween(500L, 1_000L));
    assertThat(draws(backoff, Integer.MAX_VALUE, null)).allSatisfy(d -> assertThat(d).isBetween(500L, 1_000L));
    // 2^30 doublings at most: the shift stays within a long.
    Backoff uncapped = new Backoff(1, Long.MAX_VALUE);
    assertThat(draws(uncapped, 40, null)).allSatisfy(d -> assertThat(d).isBetween(1L << 29, 1L << 30));
  }

  @Test
  void aLongerRetryAfterWinsAndAShorterOneDoesNot() {
    Backoff backoff = new Backoff(100, 1_000);
    assertThat(draws(backoff, 1, 5_000L)).allSatisfy(d -> assertThat(d).isEqualTo(5_000L));
    assertThat(draws(backoff, 1, 10L)).allSatisfy(d -> assertThat(d).isBetween(50L, 100L));
  }

  @Test
  void neverLessThanOneMillisecond() {
    assertThat(draws(new Backoff(1, 1), 1, 0L)).allSatisfy(d -> assertThat(d).isEqualTo(1L));
    assertThat(draws(new Backoff(0, 0), 1, null)).allSatisfy(d -> assertThat(d).isEqualTo(1L));
  }
}
