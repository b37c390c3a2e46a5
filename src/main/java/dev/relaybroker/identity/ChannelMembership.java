package dev.relaybroker.identity;

import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.session.Session;
import dev.relaybroker.cloud.RelaycastClient;
import dev.relaybroker.cloud.RetryPolicy;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * SPEC §2 step 6, after ready: each configured channel is created with the agent token (409: it exists, fine) and
 * joined, so the agent can be addressed there. Never holds readiness up and never drops the session: a channel
 * that fails is retried with backoff while the cause is transient, and reported with its cause either way. A new
 * round (another agent, after a takeover back or a re-register) makes the previous one stale.
 */
final class ChannelMembership {
  private static final Logger LOG = LoggerFactory.getLogger(ChannelMembership.class);
  /** A 401 is tried again this many times before it is reported: the token may just have rolled over. */
  private static final int TOKEN_RETRIES = 3;

  private final Vertx vertx;
  private final RelaycastClient cloud;
  private final List<String> configured;
  /** Unlimited: a channel whose failure is transient is joined once the cloud allows it, however long that takes. */
  private final RetryPolicy retries;
  /** Reports (joined channels, channels not joined with why) after every change. */
  private final BiConsumer<List<String>, Map<String, String>> report;
  private final Map<String, Boolean> joined = new LinkedHashMap<>();
  private final Map<String, String> errors = new LinkedHashMap<>();
  private long round;

  ChannelMembership(Vertx vertx, RelaycastClient cloud, List<String> configured, RetryPolicy retries,
                    BiConsumer<List<String>, Map<String, String>> report) {
    this.vertx = vertx;
    this.cloud = cloud;
    this.configured = List.copyOf(configured);
    this.retries = retries;
    this.report = report;
  }

  /** Joins every configured channel for this session; {@code current} gives the token to use at each attempt. */
  void joinAll(Session session, Supplier<Session> current) {
    long thisRound = ++round;
    joined.clear();
    errors.clear();
    for (String channel : configured) {
      join(channel, session.agentId(), current, thisRound, retries.streak());
    }
  }

  /** Stops every round under way (a stop, a takeover). */
  void cancel() {
    round++;
  }

  private void join(String channel, String agentId, Supplier<Session> current, long thisRound, RetryPolicy.Streak streak) {
    Session now = current.get();
    if (thisRound != round || now == null || !now.agentId().equals(agentId)) {
      return; // a newer round, or no session to join with
    }
    cloud.createChannel(now.token(), channel)
      .recover(e -> BrokerFailure.of(e).isStatus(409) ? Future.succeededFuture() : Future.failedFuture(e))
      .compose(v -> cloud.joinChannel(now.token(), channel))
      .onComplete(done -> {
        if (thisRound != round) {
          return;
        }
        if (done.succeeded()) {
          joined.put(channel, true);
          errors.remove(channel);
          LOG.info("Agent '{}' joined channel '{}'", now.agentName(), channel);
          publish();
          return;
        }
        BrokerFailure f = BrokerFailure.of(done.cause());
        if (f.isStatus(401) && streak.attempts() < TOKEN_RETRIES) {
          // Seen in the soak: a refresh rotated the token while this call was under way, so the cloud refused the
          // old one before the broker learned the new one. Try again with the then current token; a token that is
          // really dead is for identity and presence to find, and they end this round.
          vertx.setTimer(streak.failed(true, null).delayMs(), t -> join(channel, agentId, current, thisRound, streak));
          return;
        }
        errors.put(channel, f.code() + ": " + f.getMessage());
        publish();
        RetryPolicy.Wait wait = streak.failed(f.retryable(), f.retryAfterMs());
        if (wait == null) {
          LOG.warn("Agent '{}' cannot join channel '{}': {}", now.agentName(), channel, f.getMessage());
          return;
        }
        String line = streak.logLine("joining channel '" + channel + "' failed (" + f.getMessage() + "); retrying in " + wait.delayMs() + " ms");
        if (line != null) {
          LOG.info("Agent '{}': {}", now.agentName(), line);
        }
        vertx.setTimer(wait.delayMs(), t -> join(channel, agentId, current, thisRound, streak));
      });
  }

  private void publish() {
    report.accept(List.copyOf(joined.keySet()), Map.copyOf(errors));
  }
}
