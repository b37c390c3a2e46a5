package dev.relaybroker.identity;

import dev.relaybroker.session.FailureCause;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;

import java.util.Set;

/**
 * The {@code cloud} health procedure, registered by the identity flow that talks to the cloud: down while the flow
 * waits on an unreachable or unavailable cloud, or failed; up otherwise. It never asks the cloud itself, so a
 * health poll costs nothing outside the process. Written on the identity verticle's event loop; read by whoever polls.
 */
final class CloudHealth {
  /** Causes that mean the cloud cannot be reached or is not answering. */
  private static final Set<FailureCause> CLOUD_DOWN = Set.of(FailureCause.CLOUD_UNREACHABLE, FailureCause.CLOUD_TIMEOUT,
    FailureCause.CLOUD_UNAVAILABLE);

  /**
   * The last wait of the identity flow on the cloud, until the flow next succeeds or fails: between two attempts
   * the state goes back to registering, and the cloud is no more reachable for that.
   */
  private volatile SessionSnapshot.Retry lastCloudWait;

  /** Fed every snapshot identity publishes. */
  void observe(SessionSnapshot next) {
    if (next.retry() != null && CLOUD_DOWN.contains(next.retry().cause())) {
      lastCloudWait = next.retry();
    } else if (next.retry() == null && (next.state() == SessionState.READY || next.state() == SessionState.FAILED)) {
      lastCloudWait = null;
    }
  }

  Status status(SessionSnapshot s) {
    SessionSnapshot.Retry wait = lastCloudWait;
    if (wait != null) {
      return Status.KO(new JsonObject().put("cause", wait.cause().code()).put("attempt", wait.attempt()));
    }
    if (s.state() == SessionState.FAILED && s.failure() != null) {
      return Status.KO(new JsonObject().put("cause", s.failure().code()));
    }
    return Status.OK(new JsonObject().put("state", s.state().wireName()));
  }
}
