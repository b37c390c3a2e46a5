package dev.relaybroker.identity;

/**
 * The owner lease's one rule, as a value (SPEC §3 {@code /api/session/renew}): the deadline is a function of the
 * last renewal, of whether the identity flow is refused now, and of when that refusal began. Nothing else moves
 * it, so a recovery (refused, then ready again) restores the deadline the renewals earned.
 *
 * <ul>
 *   <li>not refused: {@code renewedAt + lease};</li>
 *   <li>refused (a failure that needs a person): the earlier of that and {@code max(renewedAt, refusedAt) + grace}:
 *   an SDK whose {@code spawn()} failed does not keep the broker (and the state-dir lock) for the whole lease,
 *   and a renewal during the refusal buys the grace only.</li>
 * </ul>
 *
 * @param leaseMs     how long a renewal keeps the broker (a persist broker: {@link #NO_LAPSE_MS})
 * @param graceMs     how long a refused broker waits for a renewal
 * @param renewedAtMs the last renewal (the start counts as one)
 * @param refusedAtMs when the current refusal began; null while the flow is not refused
 */
public record OwnerLeaseRule(long leaseMs, long graceMs, long renewedAtMs, Long refusedAtMs) {
  /** A lease that never lapses by itself (persist mode): only the grace after a refusal applies. */
  public static final long NO_LAPSE_MS = 100L * 365 * 24 * 3600 * 1000;

  public static OwnerLeaseRule startedAt(long nowMs, long leaseMs, long graceMs) {
    return new OwnerLeaseRule(leaseMs, graceMs, nowMs, null);
  }

  public OwnerLeaseRule renewedAt(long nowMs) {
    return new OwnerLeaseRule(leaseMs, graceMs, nowMs, refusedAtMs);
  }

  /** The flow's current standing: a refusal keeps the time it began; anything else clears it. */
  public OwnerLeaseRule refused(boolean refusedNow, long nowMs) {
    if (refusedNow == (refusedAtMs != null)) {
      return this;
    }
    return new OwnerLeaseRule(leaseMs, graceMs, renewedAtMs, refusedNow ? nowMs : null);
  }

  public long deadlineMs() {
    long byRenewal = renewedAtMs + leaseMs;
    return refusedAtMs == null ? byRenewal : Math.min(byRenewal, Math.max(renewedAtMs, refusedAtMs) + graceMs);
  }

  public boolean lapsedAt(long nowMs) {
    return nowMs > deadlineMs();
  }

  /** True when the refusal's grace, not the renewals' term, sets the deadline. */
  public boolean byGrace() {
    return refusedAtMs != null && deadlineMs() < renewedAtMs + leaseMs;
  }
}
