package dev.relaybroker.identity;

import dev.relaybroker.session.FailureCause;
import dev.relaybroker.session.SessionState;

import java.util.List;
import java.util.Objects;

/**
 * The broker's life as one transition table (issue 21): {@link #next(Life, Event)} is a pure function from the
 * current {@link Life} and one {@link Event} to the next life and the {@link Effect}s to run. The identity verticle
 * runs the effects and feeds what they bring back in as events; it never changes state any other way. The same
 * table as prose is in {@code docs/broker-life.md}; a jqwik test walks random event orders through this function.
 *
 * <p>Facts carry what they are about: a token by its fingerprint (never the token), so a fact about an old token
 * can never be read as one about the new.
 *
 * <p>Rules that hold for every row: {@link State#STOPPING} and {@link State#STOPPED} absorb every event (no
 * flow starts, no step begins, no token is served after a stop); a token is served only by {@link Serve} and
 * stops being served by {@link Withdraw}; a flow runs only through {@link RunFlow} and at most one at a time.
 */
public final class BrokerLife {
  private BrokerLife() {
  }

  /** Where the broker is in its life; {@link #wire()} is the state clients see (SPEC §4). */
  public enum State {
    STARTING(SessionState.STARTING),
    REGISTERING(SessionState.REGISTERING),
    READING_RECORD(SessionState.RECLAIMING),
    TAKING_OVER(SessionState.RECLAIMING),
    ROLLING_OVER(SessionState.REGISTERING),
    RETRYING(SessionState.RETRYING),
    READY(SessionState.READY),
    FAILED(SessionState.FAILED),
    SUPERSEDED(SessionState.SUPERSEDED),
    STOPPING(SessionState.STOPPING),
    /** The stop has finished; nobody is told any more (the verticle is gone). */
    STOPPED(SessionState.STOPPING);

    private final SessionState wire;

    State(SessionState wire) {
      this.wire = wire;
    }

    public SessionState wire() {
      return wire;
    }

    public boolean stopping() {
      return this == STOPPING || this == STOPPED;
    }

    /** A state a flow's step puts the broker in. */
    public boolean step() {
      return this == STARTING || this == REGISTERING || this == READING_RECORD || this == TAKING_OVER || this == ROLLING_OVER;
    }
  }

  /** Which flow runs: the whole of SPEC §2 (start, or after a refusal), a rollover (step 7), a claim after a dead token. */
  public enum Flow { ESTABLISH, ROLL_OVER, CLAIM_AGAIN }

  /**
   * The state and what the table must remember to decide.
   *
   * @param served      the fingerprint of the token every surface serves; null when none
   * @param superseded  the fingerprint of the token another installation took over last; null when none
   * @param flowRunning a flow (any {@link Flow}) is under way
   */
  public record Life(State state, String served, String superseded, boolean flowRunning) {
    public static Life initial() {
      return new Life(State.STARTING, null, null, false);
    }

    Life in(State next) {
      return new Life(next, served, superseded, flowRunning);
    }

    Life serving(String token) {
      return new Life(state, token, superseded, flowRunning);
    }

    Life flow(boolean running) {
      return new Life(state, served, superseded, running);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Events: what happened, in the words of whoever saw it
  // ---------------------------------------------------------------------------------------------------------

  public sealed interface Event {
  }

  /** The identity verticle started. */
  public record Started() implements Event {
  }

  /** A client asked for a new token ({@code POST /api/session/refresh}, {@code relay.session.refresh}). */
  public record RefreshAsked() implements Event {
  }

  /** The running flow is about to begin a step: one of the {@link State#step()} states. */
  public record StepBegan(State step) implements Event {
    public StepBegan {
      if (!step.step()) {
        throw new IllegalArgumentException(step + " is not a step");
      }
    }
  }

  /** A cloud call of the flow failed with a transient cause; the flow waits, then tries the step again. */
  public record RetryWaiting(FailureCause cause) implements Event {
  }

  /** The flow resolved a session with the token of this fingerprint. */
  public record SessionResolved(String token) implements Event {
  }

  /** The flow ended without a session. */
  public record FlowFailed(FailureCause cause) implements Event {
  }

  /** The cloud proved this token dead while the flow rolled it over (a 401 to it, or its agent gone). */
  public record TokenProvenDead(String token) implements Event {
  }

  /**
   * Presence: the cloud invalidated this token and another holder has the agent.
   *
   * @param ownReclaimMayLandLate a takeover of ours went unanswered recently: the invalidation may be it landing late
   */
  public record TakeoverSeen(String token, boolean ownReclaimMayLandLate) implements Event {
  }

  /**
   * Presence: the cloud refused this token on the realtime connection (a refused upgrade, or a 4001 close). Whether
   * that is worth checking with the cloud is for the table to say: our own rollover may be why.
   */
  public record TokenRefused(String token) implements Event {
  }

  /** The broker is asked to stop (SIGTERM, {@code /api/shutdown}, the owner lease, an undeploy). */
  public record StopAsked() implements Event {
  }

  /** The stop finished (the agent was marked offline, or the attempt's budget ran out). */
  public record StopFinished() implements Event {
  }

  // ---------------------------------------------------------------------------------------------------------
  // Effects: what the verticle must do now
  // ---------------------------------------------------------------------------------------------------------

  public sealed interface Effect {
  }

  /** Start this flow (single flight: the table never asks for a second one while one runs). */
  public record RunFlow(Flow flow) implements Effect {
  }

  /** Answer the asker with the flow already under way. */
  public record JoinFlow() implements Effect {
  }

  /** Tell the state change to every surface. */
  public record Publish(State state) implements Effect {
  }

  /** End the flow now, without its next cloud call: nobody would serve what it claims. */
  public record AbandonFlow() implements Effect {
  }

  /** Serve this token on every surface; announce it, join the channels. */
  public record Serve(String token) implements Effect {
  }

  /** A token resolved after the stop began: keep it in the cache for the next start, never serve it. */
  public record CacheOnly(String token) implements Effect {
  }

  /** The flow failed, but nothing proved the served token dead: it stays served (make before break). */
  public record KeepServing(String token, FailureCause cause) implements Effect {
  }

  /** The flow failed with nothing to serve: every surface answers with the cause. */
  public record Refuse(FailureCause cause) implements Effect {
  }

  /** Stop serving this token on every surface, at once. */
  public record Withdraw(String token) implements Effect {
  }

  /** Another installation holds the agent: remember it (no restart takes it back by itself) and say who. */
  public record RecordSuperseded(String token) implements Effect {
  }

  /** A more precise account of the takeover already recorded: replace the message only. */
  public record RestateSuperseded(String token) implements Effect {
  }

  /** A refusal of the served token with no flow under way: presence checks with the cloud what it means. */
  public record CheckRefusal(String token) implements Effect {
  }

  /**
   * A refusal while a flow runs may be the flow's own rollover: keep it, and feed it in again when the flow ends
   * (then it is checked, or stale because a new token is served).
   */
  public record HoldRefusal(String token) implements Effect {
  }

  /** Tell the cloud the agent is offline (bounded), then report {@link StopFinished}. */
  public record MarkOffline() implements Effect {
  }

  /** Refuse the asker: the broker is stopping. */
  public record AnswerStopping() implements Effect {
  }

  public record Transition(Life life, List<Effect> effects) {
    public Transition {
      effects = List.copyOf(effects);
    }

    static Transition to(Life life, Effect... effects) {
      return new Transition(life, List.of(effects));
    }

    /** The event changes nothing (a stale fact, or one the state absorbs). */
    static Transition unchanged(Life life, Effect... effects) {
      return to(life, effects);
    }

    public boolean has(Class<? extends Effect> kind) {
      return effects.stream().anyMatch(kind::isInstance);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // The table
  // ---------------------------------------------------------------------------------------------------------

  /** The one function that moves the broker's life. Pure: no clock, no I/O. */
  public static Transition next(Life life, Event event) {
    if (life.state().stopping()) {
      return whileStopping(life, event);
    }
    if (event instanceof StopAsked) {
      // From anywhere: withdraw what is served, tell the cloud; a running flow ends at its next step.
      Life stopping = new Life(State.STOPPING, null, life.superseded(), life.flowRunning());
      return life.served() != null
        ? Transition.to(stopping, new Withdraw(life.served()), new Publish(State.STOPPING), new MarkOffline())
        : Transition.to(stopping, new Publish(State.STOPPING), new MarkOffline());
    }
    if (event instanceof Started) {
      return life.flowRunning() || life.state() != State.STARTING
        ? Transition.unchanged(life, new JoinFlow())
        : Transition.to(life.flow(true), new RunFlow(Flow.ESTABLISH));
    }
    if (event instanceof RefreshAsked) {
      if (life.flowRunning()) {
        return Transition.unchanged(life, new JoinFlow());
      }
      // Ready: roll the token over (served meanwhile). Failed or superseded: the whole flow again.
      // The flow's first step publishes where it is.
      return life.served() != null
        ? Transition.to(life.flow(true), new RunFlow(Flow.ROLL_OVER))
        : Transition.to(life.flow(true), new RunFlow(Flow.ESTABLISH));
    }
    if (event instanceof StepBegan began) {
      return life.flowRunning()
        ? Transition.to(life.in(began.step()), new Publish(began.step()))
        : Transition.unchanged(life, new AbandonFlow());
    }
    if (event instanceof RetryWaiting) {
      return life.flowRunning()
        ? Transition.to(life.in(State.RETRYING), new Publish(State.RETRYING))
        : Transition.unchanged(life, new AbandonFlow());
    }
    if (event instanceof SessionResolved resolved) {
      // The superseded token stays remembered: a late, more precise account of its takeover may still come.
      return Transition.to(new Life(State.READY, resolved.token(), life.superseded(), false), new Serve(resolved.token()));
    }
    if (event instanceof FlowFailed failed) {
      return life.served() != null
        ? Transition.to(life.in(State.READY).flow(false), new KeepServing(life.served(), failed.cause()))
        : Transition.to(life.in(State.FAILED).flow(false), new Refuse(failed.cause()));
    }
    if (event instanceof TokenProvenDead dead) {
      return Objects.equals(dead.token(), life.served())
        ? Transition.to(life.in(State.READING_RECORD).serving(null), new Withdraw(dead.token()), new Publish(State.READING_RECORD))
        : Transition.unchanged(life);
    }
    if (event instanceof TakeoverSeen seen) {
      return takeoverSeen(life, seen);
    }
    if (event instanceof TokenRefused refused) {
      if (life.flowRunning()) {
        return Transition.unchanged(life, new HoldRefusal(refused.token()));
      }
      // A token we no longer serve (replaced, withdrawn, or none served): stale; the next session reconnects presence.
      return Objects.equals(refused.token(), life.served())
        ? Transition.unchanged(life, new CheckRefusal(refused.token()))
        : Transition.unchanged(life);
    }
    // StopFinished before any stop: nothing to finish.
    return Transition.unchanged(life);
  }

  /** Presence's fact about a token: ours now (a takeover), ours before (stale), or our own reclaim landing late. */
  private static Transition takeoverSeen(Life life, TakeoverSeen seen) {
    if (life.state() == State.SUPERSEDED && life.served() == null && Objects.equals(seen.token(), life.superseded())) {
      return Transition.unchanged(life, new RestateSuperseded(seen.token()));
    }
    if (seen.token() == null || !seen.token().equals(life.served())) {
      return Transition.unchanged(life); // a token we no longer serve: stale, changes nothing
    }
    if (seen.ownReclaimMayLandLate()) {
      // Stepping back would leave the agent to nobody: withdraw the dead token and claim the name again.
      return life.flowRunning()
        ? Transition.unchanged(life)
        : Transition.to(life.flow(true), new RunFlow(Flow.CLAIM_AGAIN));
    }
    Life superseded = new Life(State.SUPERSEDED, null, seen.token(), life.flowRunning());
    return Transition.to(superseded, new Withdraw(seen.token()), new RecordSuperseded(seen.token()), new Publish(State.SUPERSEDED));
  }

  /** Stopping and stopped absorb every event: askers are refused, steps abandoned, late tokens only cached. */
  private static Transition whileStopping(Life life, Event event) {
    if (event instanceof StopFinished) {
      return Transition.to(life.in(State.STOPPED));
    }
    if (event instanceof RefreshAsked || event instanceof Started) {
      return Transition.unchanged(life, new AnswerStopping());
    }
    if (event instanceof StepBegan || event instanceof RetryWaiting) {
      return Transition.unchanged(life, new AbandonFlow());
    }
    if (event instanceof SessionResolved resolved) {
      return Transition.to(life.flow(false), new CacheOnly(resolved.token()));
    }
    if (event instanceof FlowFailed) {
      return Transition.to(life.flow(false));
    }
    return Transition.unchanged(life);
  }
}
