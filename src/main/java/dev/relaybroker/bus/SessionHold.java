package dev.relaybroker.bus;

import io.vertx.core.Vertx;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * SPEC §3 session hold, for one verticle's requests (HTTP on the local API, messages on the bus): a request asked
 * before the first settled snapshot waits for it, or for its own deadline, whichever comes first. Each request is
 * answered once, and its deadline timer goes with it, so nothing it captured outlives the answer. Event loop only.
 */
public final class SessionHold<R> {
  private final Vertx vertx;
  private final Map<R, Long> deadlines = new LinkedHashMap<>();

  public SessionHold(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Holds {@code request}; if nothing releases it within {@code maxMs}, {@code answer} gets it then. */
  public void hold(R request, long maxMs, Consumer<R> answer) {
    deadlines.put(request, vertx.setTimer(maxMs, t -> {
      if (deadlines.remove(request) != null) {
        answer.accept(request);
      }
    }));
  }

  /** Answers every held request now, in arrival order, and disarms their deadlines. */
  public void releaseAll(Consumer<R> answer) {
    if (deadlines.isEmpty()) {
      return;
    }
    Map<R, Long> waiting = new LinkedHashMap<>(deadlines);
    deadlines.clear();
    waiting.forEach((request, timer) -> {
      vertx.cancelTimer(timer);
      answer.accept(request);
    });
  }

  /** Forgets a request nobody will read the answer to (its connection closed). */
  public void drop(R request) {
    Long timer = deadlines.remove(request);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
  }
}
