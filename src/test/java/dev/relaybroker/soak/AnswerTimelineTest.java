package dev.relaybroker.soak;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The soak's judge: it must catch a withheld valid token and a dead one served after the broker knew. */
class AnswerTimelineTest {
  private static final long VALID = Long.MAX_VALUE;

  @Test
  void aRolloverServedOldThenNewIsClean() {
    AnswerTimeline timeline = new AnswerTimeline();
    timeline.record(new Answer(200, "old", null, 100, 101));
    timeline.record(new Answer(200, "old", null, 150, 151)); // revoked at 140, the rollover's reply not yet in
    timeline.record(new Answer(200, "new", null, 160, 161));

    AnswerTimeline.Verdict verdict = timeline.judge(Map.of("old", new long[]{0, 140}, "new", new long[]{140, VALID}));

    assertThat(verdict.withheld()).isZero();
    assertThat(verdict.deadServed()).isZero();
    assertThat(verdict.longestDeadWindowMs()).isEqualTo(10);
  }

  @Test
  void a503WhileTheServedTokenIsStillValidIsAWithheldToken() {
    AnswerTimeline timeline = new AnswerTimeline();
    timeline.record(new Answer(200, "old", null, 100, 101));
    timeline.record(new Answer(503, null, "broker_starting", 110, 111));
    timeline.record(new Answer(0, null, "connection refused", 120, 121));

    AnswerTimeline.Verdict verdict = timeline.judge(Map.of("old", new long[]{0, VALID}));

    assertThat(verdict.withheld()).isEqualTo(1);
    assertThat(verdict.unanswered()).isEqualTo(1);
  }

  @Test
  void aTakenOverTokenServedAfterThe409IsADeadTokenServed() {
    AnswerTimeline timeline = new AnswerTimeline();
    timeline.record(new Answer(200, "mine", null, 100, 101));
    timeline.record(new Answer(409, null, "agent_superseded", 210, 211)); // taken over at 200: a non-200 is right
    timeline.record(new Answer(200, "mine", null, 220, 221));

    AnswerTimeline.Verdict verdict = timeline.judge(Map.of("mine", new long[]{0, 200}));

    assertThat(verdict.withheld()).isZero();
    assertThat(verdict.deadServed()).isEqualTo(1);
  }
}
