package dev.relaybroker.soak;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Growth of a resource over the soak, read off the Theil-Sen line through its samples: the slope is the median of
 * the slopes between every pair of samples, the intercept the median of what is left. A leak is a slope most
 * samples share; a sample caught in a passing moment (twenty requests held across a takeover, a compilation's
 * scratch memory) is one outlier, which moves a least-squares line but not this one.
 */
final class Trend {
  private Trend() {
  }

  /** One sample: seconds since the start and the value then. */
  record Point(double x, double y) {
  }

  /** Growth in percent from {@code fromX} to the last sample, relative to the line's value at {@code fromX}. */
  static double growthPercent(List<Point> points, double fromX) {
    List<Point> used = points.stream().filter(p -> p.x() >= fromX).toList();
    if (used.size() < 3) {
      return Double.NaN;
    }
    List<Double> slopes = new ArrayList<>();
    for (int i = 0; i < used.size(); i++) {
      for (int j = i + 1; j < used.size(); j++) {
        double dx = used.get(j).x() - used.get(i).x();
        if (dx != 0) {
          slopes.add((used.get(j).y() - used.get(i).y()) / dx);
        }
      }
    }
    double slope = median(slopes);
    double intercept = median(used.stream().map(p -> p.y() - slope * p.x()).toList());
    double from = intercept + slope * fromX;
    double to = intercept + slope * used.get(used.size() - 1).x();
    return from <= 0 ? 0 : (to - from) * 100.0 / from;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
