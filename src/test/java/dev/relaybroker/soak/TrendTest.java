package dev.relaybroker.soak;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TrendTest {
  /** Samples every 20 s for an hour: {@code base + perHour * t / 3600 + noise}, with a few passing spikes. */
  private static List<Trend.Point> hour(double base, double perHour, double noise, int spikes, double spike) {
    Random random = new Random(7);
    List<Trend.Point> points = new ArrayList<>();
    for (int t = 20; t <= 3600; t += 20) {
      points.add(new Trend.Point(t, base + perHour * t / 3600.0 + (random.nextDouble() - 0.5) * noise));
    }
    for (int i = 0; i < spikes; i++) {
      int at = points.size() - 1 - i * 7; // late in the run, where they drag a least-squares line the most
      points.set(at, new Trend.Point(points.get(at).x(), points.get(at).y() + spike));
    }
    return points;
  }

  @Test
  void aSteadyLeakShowsAsItsGrowth() {
    // 100 -> 110 over the hour: from minute 2 (100.33) to the end, 9.6 %.
    assertThat(Trend.growthPercent(hour(100, 10, 2, 0, 0), 120)).isCloseTo(9.6, within(0.5));
  }

  @Test
  void aLeakIsSeenThroughPassingSpikes() {
    assertThat(Trend.growthPercent(hour(100, 10, 2, 6, 30), 120)).isCloseTo(9.6, within(1.0));
  }

  @Test
  void passingSpikesLateInTheRunAreNotALeak() {
    // Pending timers: 4 at rest, 20 for a sample caught during a takeover, three of those in the last quarter.
    assertThat(Trend.growthPercent(hour(4, 0, 0, 3, 16), 120)).isCloseTo(0, within(0.5));
    // RSS: 100 MB scattering +-5 MB, with a compilation's 25 MB caught four times.
    assertThat(Trend.growthPercent(hour(100, 0, 10, 4, 25), 120)).isCloseTo(0, within(1.5));
  }

  @Test
  void samplesBeforeTheStartingPointDoNotCount() {
    List<Trend.Point> warmUp = new ArrayList<>(hour(100, 0, 0, 0, 0));
    warmUp.replaceAll(p -> p.x() < 120 ? new Trend.Point(p.x(), 50) : p);

    assertThat(Trend.growthPercent(warmUp, 120)).isCloseTo(0, within(0.01));
    assertThat(Trend.growthPercent(List.of(new Trend.Point(200, 1), new Trend.Point(300, 2)), 120)).isNaN();
  }
}
