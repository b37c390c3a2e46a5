package dev.relaybroker.identity;

import dev.relaybroker.identity.BrokerLife.AbandonFlow;
import dev.relaybroker.identity.BrokerLife.AnswerStopping;
import dev.relaybroker.identity.BrokerLife.CacheOnly;
import dev.relaybroker.identity.BrokerLife.CheckRefusal;
import dev.relaybroker.identity.BrokerLife.Event;
import dev.relaybroker.identity.BrokerLife.FlowFailed;
import dev.relaybroker.identity.BrokerLife.HoldRefusal;
import dev.relaybroker.identity.BrokerLife.JoinFlow;
import dev.relaybroker.identity.BrokerLife.KeepServing;
import dev.relaybroker.identity.BrokerLife.Life;
import dev.relaybroker.identity.BrokerLife.MarkOffline;
import dev.relaybroker.identity.BrokerLife.Publish;
import dev.relaybroker.identity.BrokerLife.RecordSuperseded;
import dev.relaybroker.identity.BrokerLife.RefreshAsked;
import dev.relaybroker.identity.BrokerLife.Refuse;
import dev.relaybroker.identity.BrokerLife.RestateSuperseded;
import dev.relaybroker.identity.BrokerLife.RetryWaiting;
import dev.relaybroker.identity.BrokerLife.RunFlow;
import dev.relaybroker.identity.BrokerLife.Serve;
import dev.relaybroker.identity.BrokerLife.SessionResolved;
import dev.relaybroker.identity.BrokerLife.Started;
import dev.relaybroker.identity.BrokerLife.StepBegan;
import dev.relaybroker.identity.BrokerLife.StopAsked;
import dev.relaybroker.identity.BrokerLife.StopFinished;
import dev.relaybroker.identity.BrokerLife.TakeoverSeen;
import dev.relaybroker.identity.BrokerLife.TokenProvenDead;
import dev.relaybroker.identity.BrokerLife.TokenRefused;
import dev.relaybroker.identity.BrokerLife.Transition;
import dev.relaybroker.identity.BrokerLife.Withdraw;
import dev.relaybroker.session.FailureCause;
import dev.relaybroker.session.SessionState;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.relaybroker.identity.BrokerLife.Flow.CLAIM_AGAIN;
import static dev.relaybroker.identity.BrokerLife.Flow.ESTABLISH;
import static dev.relaybroker.identity.BrokerLife.Flow.ROLL_OVER;
import static dev.relaybroker.identity.BrokerLife.State.FAILED;
import static dev.relaybroker.identity.BrokerLife.State.READING_RECORD;
import static dev.relaybroker.identity.BrokerLife.State.READY;
import static dev.relaybroker.identity.BrokerLife.State.REGISTERING;
import static dev.relaybroker.identity.BrokerLife.State.RETRYING;
import static dev.relaybroker.identity.BrokerLife.State.STARTING;
import static dev.relaybroker.identity.BrokerLife.State.STOPPED;
import static dev.relaybroker.identity.BrokerLife.State.STOPPING;
import static dev.relaybroker.identity.BrokerLife.State.SUPERSEDED;
import static dev.relaybroker.identity.BrokerLife.State.TAKING_OVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The transition table of the README's layout section, row by row: each example is one row, the exact next life and
 * the exact effects. The model test (BrokerLifeModelTest) checks the rules every row keeps; this one checks the rows.
 */
class BrokerLifeTableTest {
  private static final FailureCause CAUSE = FailureCause.CLOUD_UNAVAILABLE;

  private static Life life(BrokerLife.State state, String served, String superseded, boolean flow) {
    return new Life(state, served, superseded, flow);
  }

  private static void row(Life given, Event event, Life next, BrokerLife.Effect... effects) {
    Transition transition = BrokerLife.next(given, event);
    assertThat(transition.life()).as("%s on %s", given, event).isEqualTo(next);
    assertThat(transition.effects()).as("effects of %s on %s", given, event).containsExactly(effects);
  }

  @Test
  void stoppingAndStoppedAbsorbEveryEvent() {
    for (BrokerLife.State absorbing : List.of(STOPPING, STOPPED)) {
      Life stopping = life(absorbing, null, "sup", true);
      row(stopping, new StopFinished(), life(STOPPED, null, "sup", true));
      row(stopping, new RefreshAsked(), stopping, new AnswerStopping());
      row(stopping, new Started(), stopping, new AnswerStopping());
      row(stopping, new StepBegan(REGISTERING), stopping, new AbandonFlow());
      row(stopping, new RetryWaiting(CAUSE), stopping, new AbandonFlow());
      row(stopping, new SessionResolved("late"), life(absorbing, null, "sup", false), new CacheOnly("late"));
      row(stopping, new FlowFailed(CAUSE), life(absorbing, null, "sup", false));
      row(stopping, new StopAsked(), stopping);
      row(stopping, new TakeoverSeen("sup", false), stopping);
      row(stopping, new TokenProvenDead("x"), stopping);
      row(stopping, new TokenRefused("x"), stopping);
    }
  }

  @Test
  void aStopFromAnywhereWithdrawsWhatIsServedAndMarksTheAgentOffline() {
    row(life(READY, "t1", null, false), new StopAsked(), life(STOPPING, null, null, false),
      new Withdraw("t1"), new Publish(STOPPING), new MarkOffline());
    row(life(REGISTERING, null, "old", true), new StopAsked(), life(STOPPING, null, "old", true),
      new Publish(STOPPING), new MarkOffline());
  }

  @Test
  void theStartRunsTheFlowOnceAndAnyLaterStartJoinsIt() {
    row(Life.initial(), new Started(), life(STARTING, null, null, true), new RunFlow(ESTABLISH));
    row(life(STARTING, null, null, true), new Started(), life(STARTING, null, null, true), new JoinFlow());
    row(life(READY, "t", null, false), new Started(), life(READY, "t", null, false), new JoinFlow());
  }

  @Test
  void aRefreshJoinsARunningFlowRollsAServedTokenOverAndOtherwiseEstablishesAgain() {
    row(life(REGISTERING, null, null, true), new RefreshAsked(), life(REGISTERING, null, null, true), new JoinFlow());
    row(life(READY, "t", null, false), new RefreshAsked(), life(READY, "t", null, true), new RunFlow(ROLL_OVER));
    row(life(FAILED, null, null, false), new RefreshAsked(), life(FAILED, null, null, true), new RunFlow(ESTABLISH));
    row(life(SUPERSEDED, null, "t", false), new RefreshAsked(), life(SUPERSEDED, null, "t", true), new RunFlow(ESTABLISH));
  }

  @Test
  void stepsAndWaitsArePublishedOnlyWhileAFlowRuns() {
    row(life(STARTING, null, null, true), new StepBegan(TAKING_OVER), life(TAKING_OVER, null, null, true), new Publish(TAKING_OVER));
    row(life(READY, "t", null, false), new StepBegan(REGISTERING), life(READY, "t", null, false), new AbandonFlow());
    row(life(REGISTERING, null, null, true), new RetryWaiting(CAUSE), life(RETRYING, null, null, true), new Publish(RETRYING));
    row(life(READY, "t", null, false), new RetryWaiting(CAUSE), life(READY, "t", null, false), new AbandonFlow());
  }

  @Test
  void aResolvedSessionIsServedAndEndsTheFlowKeepingTheSupersededTokenRemembered() {
    row(life(TAKING_OVER, null, "old", true), new SessionResolved("new"), life(READY, "new", "old", false), new Serve("new"));
  }

  @Test
  void aFailedFlowKeepsServingAServedTokenAndOtherwiseRefuses() {
    row(life(RETRYING, "t", null, true), new FlowFailed(CAUSE), life(READY, "t", null, false), new KeepServing("t", CAUSE));
    row(life(RETRYING, null, null, true), new FlowFailed(CAUSE), life(FAILED, null, null, false), new Refuse(CAUSE));
  }

  @Test
  void aTokenProvenDeadIsWithdrawnOnlyWhenItIsTheServedOne() {
    row(life(READY, "t", null, true), new TokenProvenDead("t"), life(READING_RECORD, null, null, true),
      new Withdraw("t"), new Publish(READING_RECORD));
    row(life(READY, "t", null, true), new TokenProvenDead("cached"), life(READY, "t", null, true));
  }

  @Test
  void aTakeoverIsRecordedForTheServedTokenRestatedForTheSupersededOneAndIgnoredWhenStale() {
    row(life(SUPERSEDED, null, "t", false), new TakeoverSeen("t", false), life(SUPERSEDED, null, "t", false),
      new RestateSuperseded("t"));
    row(life(SUPERSEDED, null, "t", false), new TakeoverSeen("other", false), life(SUPERSEDED, null, "t", false));
    row(life(READY, "t", null, false), new TakeoverSeen("old", false), life(READY, "t", null, false));
    row(life(READY, "t", null, false), new TakeoverSeen(null, false), life(READY, "t", null, false));
    row(life(READY, "t", null, false), new TakeoverSeen("t", true), life(READY, "t", null, true), new RunFlow(CLAIM_AGAIN));
    row(life(READY, "t", null, true), new TakeoverSeen("t", true), life(READY, "t", null, true));
    row(life(READY, "t", null, true), new TakeoverSeen("t", false), life(SUPERSEDED, null, "t", true),
      new Withdraw("t"), new RecordSuperseded("t"), new Publish(SUPERSEDED));
    // A superseded broker that serves again (after a refresh) takes a fact about its new token as a new takeover.
    row(life(SUPERSEDED, "t2", "t", false), new TakeoverSeen("t2", false), life(SUPERSEDED, null, "t2", false),
      new Withdraw("t2"), new RecordSuperseded("t2"), new Publish(SUPERSEDED));
  }

  @Test
  void aRefusalOfTheServedTokenIsCheckedHeldWhileAFlowRunsAndOtherwiseStale() {
    // No flow: presence asks the cloud what the refusal of the served token means.
    row(life(READY, "t", null, false), new TokenRefused("t"), life(READY, "t", null, false), new CheckRefusal("t"));
    // A flow runs: the refusal may be its own rollover; held, and fed in again when the flow ends.
    row(life(READY, "t", null, true), new TokenRefused("t"), life(READY, "t", null, true), new HoldRefusal("t"));
    row(life(REGISTERING, null, null, true), new TokenRefused("t"), life(REGISTERING, null, null, true), new HoldRefusal("t"));
    // A token no longer served (replaced by the flow, or none served after a failure): nothing to check.
    row(life(READY, "t2", null, false), new TokenRefused("t"), life(READY, "t2", null, false));
    row(life(FAILED, null, null, false), new TokenRefused("t"), life(FAILED, null, null, false));
    row(life(SUPERSEDED, null, "t", false), new TokenRefused("t"), life(SUPERSEDED, null, "t", false));
  }

  @Test
  void aStopFinishedWithoutAStopChangesNothing() {
    row(life(READY, "t", null, false), new StopFinished(), life(READY, "t", null, false));
  }

  @Test
  void statesSayWhatClientsSeeWhichAreStepsAndWhichAbsorb() {
    assertThat(READING_RECORD.wire()).isEqualTo(SessionState.RECLAIMING);
    assertThat(STOPPED.wire()).isEqualTo(SessionState.STOPPING);
    assertThat(BrokerLife.State.ROLLING_OVER.wire()).isEqualTo(SessionState.REGISTERING);
    assertThat(List.of(BrokerLife.State.values())).filteredOn(BrokerLife.State::stopping).containsExactly(STOPPING, STOPPED);
    assertThat(List.of(BrokerLife.State.values())).filteredOn(BrokerLife.State::step)
      .containsExactly(STARTING, REGISTERING, READING_RECORD, TAKING_OVER, BrokerLife.State.ROLLING_OVER);
    assertThatThrownBy(() -> new StepBegan(READY)).isInstanceOf(IllegalArgumentException.class);
    Transition serving = BrokerLife.next(life(TAKING_OVER, null, null, true), new SessionResolved("n"));
    assertThat(serving.has(Serve.class)).isTrue();
    assertThat(serving.has(Withdraw.class)).isFalse();
  }
}
