package dev.relaybroker.identity;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The owner lease's rule on worked numbers: a 120 s lease, a 30 s grace after a refusal. */
class OwnerLeaseRuleTest {
  private static final long LEASE = 120_000;
  private static final long GRACE = 30_000;

  @Test
  void aRenewalEarnsTheWholeLeaseAndTheDeadlineItselfIsNotYetALapse() {
    OwnerLeaseRule rule = OwnerLeaseRule.startedAt(1_000, LEASE, GRACE).renewedAt(10_000);

    assertThat(rule.deadlineMs()).isEqualTo(130_000);
    assertThat(rule.lapsedAt(130_000)).isFalse();
    assertThat(rule.lapsedAt(130_001)).isTrue();
    assertThat(rule.byGrace()).isFalse();
  }

  @Test
  void aRefusalShortensTheDeadlineToTheGraceAndARecoveryRestoresWhatTheRenewalsEarned() {
    OwnerLeaseRule refused = OwnerLeaseRule.startedAt(0, LEASE, GRACE).refused(true, 20_000);

    assertThat(refused.deadlineMs()).isEqualTo(50_000);
    assertThat(refused.byGrace()).isTrue();
    assertThat(refused.refused(true, 40_000)).as("a refusal keeps the time it began").isEqualTo(refused);
    assertThat(refused.renewedAt(45_000).deadlineMs()).as("a renewal during the refusal buys the grace only").isEqualTo(75_000);

    OwnerLeaseRule recovered = refused.refused(false, 48_000);
    assertThat(recovered.refusedAtMs()).isNull();
    assertThat(recovered.deadlineMs()).isEqualTo(120_000);
    assertThat(recovered.byGrace()).isFalse();
    assertThat(recovered.refused(false, 60_000)).isSameAs(recovered);
  }

  @Test
  void aRefusalLateInTheTermLeavesTheRenewalsDeadlineInPlace() {
    OwnerLeaseRule late = OwnerLeaseRule.startedAt(0, LEASE, GRACE).refused(true, 100_000);

    assertThat(late.deadlineMs()).isEqualTo(120_000);
    assertThat(late.byGrace()).as("the term, not the grace, ends it").isFalse();
  }

  @Test
  void aPersistBrokerNeverLapsesByItselfOnlyByTheGraceAfterARefusal() {
    OwnerLeaseRule persist = OwnerLeaseRule.startedAt(0, OwnerLeaseRule.NO_LAPSE_MS, GRACE);

    assertThat(persist.lapsedAt(365L * 24 * 3600 * 1000)).isFalse();
    assertThat(persist.refused(true, 5_000).lapsedAt(35_001)).isTrue();
  }
}
