package dev.relaybroker.session;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The snapshot every surface answers from: which status it means, and what each wither changes (pure, no Vert.x). */
class SessionSnapshotTest {
  private static final Session SESSION = new Session("ws_1", "agt_1", "alpha", "at_live_0123456789abcdef", "persist",
    "2026-01-01T00:00:00Z", "rk_test_key", "http://cloud");
  private static final BrokerFailure SUPERSEDED = BrokerFailure.refusal(FailureCause.AGENT_SUPERSEDED, "taken over");

  private static SessionSnapshot in(SessionState state, Session session) {
    return new SessionSnapshot(7, java.time.Instant.EPOCH, state, "m", null, session, null, PresenceState.ONLINE, "p",
      List.of("general"), Map.of("builds", "x"));
  }

  @Test
  void aNewBrokerIsStartingWithNothingToServe() {
    SessionSnapshot first = SessionSnapshot.initial(true);
    assertThat(first.seq()).isZero();
    assertThat(first.state()).isEqualTo(SessionState.STARTING);
    assertThat(first.session()).isNull();
    assertThat(first.presence()).isEqualTo(PresenceState.CONNECTING);
    assertThat(first.status()).isEqualTo(503);
    assertThat(first.settled()).isFalse();
    assertThat(first.busy()).isTrue();
    assertThat(SessionSnapshot.initial(false).presence()).isEqualTo(PresenceState.DISABLED);
  }

  @ParameterizedTest
  @EnumSource(SessionState.class)
  void theStatusIs200WhileATokenIsHeldWhateverTheFlowIsDoing(SessionState state) {
    int expected = state == SessionState.SUPERSEDED ? 409 : 200;
    assertThat(in(state, SESSION).status()).isEqualTo(expected);
    assertThat(in(state, SESSION).settled()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(SessionState.class)
  void withoutATokenTheStatusSaysWhy(SessionState state) {
    int expected = switch (state) {
      case SUPERSEDED -> 409;
      case FAILED -> 502;
      default -> 503;
    };
    SessionSnapshot none = in(state, null);
    assertThat(none.status()).isEqualTo(expected);
    assertThat(none.settled()).as("settled in %s", state)
      .isEqualTo(expected != 503 || state == SessionState.STOPPING);
  }

  @ParameterizedTest
  @EnumSource(SessionState.class)
  void busyMeansARolloverOrReclaimIsUnderWay(SessionState state) {
    boolean expected = switch (state) {
      case STARTING, REGISTERING, RECLAIMING, RETRYING -> true;
      default -> false;
    };
    assertThat(in(state, SESSION).busy()).isEqualTo(expected);
  }

  @Test
  void everyWitherAdvancesTheSequenceByOneAndChangesOneConcern() {
    SessionSnapshot base = in(SessionState.READY, SESSION);
    SessionSnapshot.Retry retry = new SessionSnapshot.Retry("register", FailureCause.CLOUD_TIMEOUT, "slow", 2, 40);

    SessionSnapshot retrying = base.entering(SessionState.RETRYING, "waiting", retry);
    assertThat(retrying.seq()).isEqualTo(8);
    assertThat(retrying.state()).isEqualTo(SessionState.RETRYING);
    assertThat(retrying.message()).isEqualTo("waiting");
    assertThat(retrying.retry()).isEqualTo(retry);
    assertThat(retrying.session()).as("make before break").isSameAs(SESSION);
    assertThat(retrying.channels()).containsExactly("general");
    assertThat(retrying.channelErrors()).containsEntry("builds", "x");
    assertThat(retrying.presence()).isEqualTo(PresenceState.ONLINE);
    assertThat(retrying.presenceMessage()).isEqualTo("p");

    Session next = new Session("ws_1", "agt_1", "alpha", "at_live_fedcba9876543210", "persist", "t", "rk_test_key", "u");
    SessionSnapshot ready = retrying.ready(next, "ready again");
    assertThat(ready.seq()).isEqualTo(9);
    assertThat(ready.state()).isEqualTo(SessionState.READY);
    assertThat(ready.message()).isEqualTo("ready again");
    assertThat(ready.retry()).isNull();
    assertThat(ready.session()).isSameAs(next);
    assertThat(ready.failure()).isNull();
    assertThat(ready.channels()).as("a rollover keeps membership").containsExactly("general");
    assertThat(ready.channelErrors()).containsEntry("builds", "x");
    assertThat(ready.presence()).isEqualTo(PresenceState.ONLINE);

    SessionSnapshot withdrawn = ready.withdrawn(SessionState.RECLAIMING, "dead token");
    assertThat(withdrawn.seq()).isEqualTo(10);
    assertThat(withdrawn.state()).isEqualTo(SessionState.RECLAIMING);
    assertThat(withdrawn.message()).isEqualTo("dead token");
    assertThat(withdrawn.session()).isNull();
    assertThat(withdrawn.channels()).isEmpty();
    assertThat(withdrawn.channelErrors()).isEmpty();
    assertThat(withdrawn.presence()).isEqualTo(PresenceState.ONLINE);

    SessionSnapshot refused = ready.refused(SessionState.SUPERSEDED, SUPERSEDED);
    assertThat(refused.seq()).isEqualTo(10);
    assertThat(refused.state()).isEqualTo(SessionState.SUPERSEDED);
    assertThat(refused.message()).isEqualTo("taken over");
    assertThat(refused.failure()).isSameAs(SUPERSEDED);
    assertThat(refused.session()).isNull();
    assertThat(refused.channels()).isEmpty();
    assertThat(refused.channelErrors()).isEmpty();

    SessionSnapshot offline = ready.withPresence(PresenceState.OFFLINE, "closed");
    assertThat(offline.seq()).isEqualTo(10);
    assertThat(offline.presence()).isEqualTo(PresenceState.OFFLINE);
    assertThat(offline.presenceMessage()).isEqualTo("closed");
    assertThat(offline.state()).isEqualTo(SessionState.READY);
    assertThat(offline.message()).isEqualTo("ready again");
    assertThat(offline.session()).isSameAs(next);
    assertThat(offline.channels()).containsExactly("general");

    SessionSnapshot joined = retrying.withChannels(List.of("general", "builds"), Map.of());
    assertThat(joined.seq()).isEqualTo(9);
    assertThat(joined.channels()).containsExactly("general", "builds");
    assertThat(joined.channelErrors()).isEmpty();
    assertThat(joined.state()).isEqualTo(SessionState.RETRYING);
    assertThat(joined.retry()).isEqualTo(retry);
    assertThat(joined.session()).isSameAs(SESSION);
    assertThat(joined.presenceMessage()).isEqualTo("p");
  }

  @Test
  void channelListsAreCopiedSoALaterChangeByTheCallerCannotReachAPublishedSnapshot() {
    List<String> channels = new ArrayList<>(List.of("general"));
    Map<String, String> errors = new HashMap<>(Map.of("builds", "x"));
    SessionSnapshot snapshot = in(SessionState.READY, SESSION).withChannels(channels, errors);
    channels.add("later");
    errors.clear();
    assertThat(snapshot.channels()).containsExactly("general");
    assertThat(snapshot.channelErrors()).containsOnlyKeys("builds");
    assertThatThrownBy(() -> snapshot.channels().add("x")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void waitingForNamesTheStateAndWhatItWaitsFor() {
    assertThat(in(SessionState.RETRYING, null).entering(SessionState.RETRYING, "register failed; retrying in 40 ms", null)
      .waitingFor()).isEqualTo("the broker is retrying (register failed; retrying in 40 ms)");
  }

  @Test
  void printingASnapshotNeverPrintsTheToken() {
    String printed = in(SessionState.READY, SESSION).toString();
    assertThat(printed).doesNotContain(SESSION.token()).startsWith("SessionSnapshot[seq=7, state=ready, session=Session[")
      .endsWith(", presence=online]");
    assertThat(in(SessionState.SUPERSEDED, null).refused(SessionState.SUPERSEDED, SUPERSEDED).toString())
      .isEqualTo("SessionSnapshot[seq=8, state=superseded, session=null, presence=online, failure=agent_superseded]");
  }
}
