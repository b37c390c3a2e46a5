package dev.relaybroker.cloud;

/** Told of every REST call to the cloud once it ended: which step, how it ended, how long it took. */
@FunctionalInterface
public interface CloudCallObserver {
  CloudCallObserver NONE = (step, outcome, durationNanos) -> { };

  /** @param outcome {@code success}, or the failure's cause code ({@code cloud_unavailable}, …) */
  void cloudCall(String step, String outcome, long durationNanos);
}
