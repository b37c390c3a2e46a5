package dev.relaybroker.identity;

import dev.relaybroker.session.FailureCause;
import dev.relaybroker.identity.BrokerLife.Effect;
import dev.relaybroker.identity.BrokerLife.Event;
import dev.relaybroker.identity.BrokerLife.Life;
import dev.relaybroker.identity.BrokerLife.State;
import dev.relaybroker.identity.BrokerLife.Transition;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The transition table of {@link BrokerLife} walked by thousands of random event orders: cloud answers (steps,
 * waits, tokens, refusals of every cause, dead tokens), presence facts (takeovers of the served, an old or the
 * superseded token; our own reclaim landing late), client refreshes, lease renewals and clock ticks, and stops.
 * After every event the invariants below must hold. A failing order is shrunk and printed as the list of its
 * steps ("client: refresh", "cloud: token t2 resolved", "clock: +3000 ms", …): a scenario to read.
 */
class BrokerLifeModelTest {
  private static final long LEASE_MS = 10_000;
  private static final long GRACE_MS = 3_000;
  private static final List<State> STEPS = Arrays.stream(State.values()).filter(State::step).toList();
  private static final List<FailureCause> TRANSIENT = Arrays.stream(FailureCause.values()).filter(FailureCause::retryable).toList();

  @Property // tries: jqwik.tries.default, 2000 in junit-platform.properties (scripts/mutation runs fewer per mutant)
  void theLifeKeepsItsRulesWhateverTheOrderOfEvents(@ForAll("lives") ActionChain<Model> chain) {
    chain
      .withInvariant("nothing leaves stopping", m -> {
        if (m.everStopping) {
          assertThat(m.life.state().stopping()).as("state after a stop").isTrue();
          assertThat(m.last.effects()).as("effects after a stop").noneMatch(e -> e instanceof BrokerLife.Serve
            || e instanceof BrokerLife.RunFlow || e instanceof BrokerLife.RecordSuperseded || e instanceof BrokerLife.Refuse);
        }
      })
      .withInvariant("a withdrawn token is never served again", m -> {
        assertThat(m.withdrawn).as("withdrawn tokens").doesNotContain(m.life.served());
        assertThat(m.last.effects()).noneMatch(e -> e instanceof BrokerLife.Serve serve && m.withdrawnBefore.contains(serve.token()));
      })
      .withInvariant("every cause belongs to its own state", m -> {
        for (Effect effect : m.last.effects()) {
          if (effect instanceof BrokerLife.Refuse) {
            assertThat(m.life.state()).as("state of a refusal").isEqualTo(State.FAILED);
          } else if (effect instanceof BrokerLife.RecordSuperseded || effect instanceof BrokerLife.RestateSuperseded) {
            assertThat(m.life.state()).as("state of a takeover").isEqualTo(State.SUPERSEDED);
          } else if (effect instanceof BrokerLife.KeepServing) {
            assertThat(m.life.state()).as("state of a failed rollover").isEqualTo(State.READY);
          } else if (effect instanceof BrokerLife.Publish publish) {
            assertThat(publish.state()).as("published state").isEqualTo(m.life.state());
          }
        }
        if (m.lastEvent instanceof BrokerLife.RetryWaiting && !m.life.state().stopping()) {
          assertThat(m.life.state()).as("state of a wait").isEqualTo(State.RETRYING);
        }
      })
      .withInvariant("a token is served exactly while the broker may serve it", m -> {
        if (m.life.state() == State.READY) {
          assertThat(m.life.served()).as("token served when ready").isNotNull();
        }
        if (m.life.state() == State.FAILED || m.life.state() == State.SUPERSEDED || m.life.state().stopping()) {
          assertThat(m.life.served()).as("token served when " + m.life.state()).isNull();
        }
      })
      .withInvariant("a refusal is checked only for the token served, and never while a flow may be rolling it", m -> {
        for (Effect effect : m.last.effects()) {
          if (effect instanceof BrokerLife.CheckRefusal check) {
            assertThat(check.token()).as("token checked").isEqualTo(m.before.served());
            assertThat(m.before.flowRunning()).as("a flow running when a refusal was checked").isFalse();
          }
        }
      })
      .withInvariant("one flow at a time", m -> {
        if (m.before.flowRunning()) {
          assertThat(m.last.effects()).as("flows started while one runs").noneMatch(BrokerLife.RunFlow.class::isInstance);
        }
      })
      .withInvariant("the lease fires only by its rule", m -> {
        if (m.leaseFired) {
          assertThat(m.firedAt).as("when the lease fired, against the rule's deadline then").isGreaterThan(m.oracleAtFiring);
        } else {
          assertThat(m.now).as("the clock, while the lease has not fired: the rule's deadline").isLessThanOrEqualTo(m.oracleDeadline());
        }
        if (!m.leaseFired && !m.refusedNow() && m.now - m.lastRenew <= LEASE_MS) {
          assertThat(m.lease.lapsedAt(m.now)).as("a lease renewed within its term, not refused").isFalse();
        }
      })
      .run();
  }

  @Provide
  Arbitrary<ActionChain<Model>> lives() {
    return ActionChain.startWith(Model::new).withAction((Action.Dependent<Model>) BrokerLifeModelTest::anEvent).withMaxTransformations(40);
  }

  /** What may happen next: cloud answers only while a flow runs (or ends after a stop), anything else at any time. */
  private static Arbitrary<Transformer<Model>> anEvent(Model m) {
    List<Tuple.Tuple2<Integer, Arbitrary<Transformer<Model>>>> choices = new ArrayList<>();
    choices.add(Tuple.of(3, Arbitraries.just(event("client: refresh", new BrokerLife.RefreshAsked()))));
    choices.add(Tuple.of(1, Arbitraries.just(event("stop asked", new BrokerLife.StopAsked()))));
    choices.add(Tuple.of(2, Arbitraries.just(Transformer.mutate("lease: renewed", Model::renew))));
    choices.add(Tuple.of(3, Arbitraries.longs().between(100, 6_000)
      .map(ms -> Transformer.mutate("clock: +" + ms + " ms", model -> model.tick(ms)))));
    choices.add(Tuple.of(2, Arbitraries.of(m.knownTokens()).flatMap(token -> Arbitraries.of(true, false)
      .map(late -> event("presence: token " + token + " taken over" + (late ? " (a reclaim of ours went unanswered)" : ""),
        new BrokerLife.TakeoverSeen(token, late))))));
    choices.add(Tuple.of(1, Arbitraries.of(m.knownTokens()).map(token -> event("presence: token " + token + " refused",
      new BrokerLife.TokenRefused(token)))));
    if (m.life.flowRunning()) {
      choices.add(Tuple.of(3, Arbitraries.of(STEPS).map(step -> event("cloud: step " + step + " begins", new BrokerLife.StepBegan(step)))));
      choices.add(Tuple.of(2, Arbitraries.of(TRANSIENT).map(cause -> event("cloud: " + cause.code() + ", waiting to retry",
        new BrokerLife.RetryWaiting(cause)))));
      choices.add(Tuple.of(3, Arbitraries.just(Transformer.<Model>mutate("cloud: a new token resolved", Model::resolve))));
      choices.add(Tuple.of(2, Arbitraries.of(FailureCause.values()).map(cause -> event("cloud: flow failed with " + cause.code(),
        new BrokerLife.FlowFailed(cause)))));
      choices.add(Tuple.of(1, Arbitraries.of(m.knownTokens()).map(token -> event("cloud: token " + token + " proven dead",
        new BrokerLife.TokenProvenDead(token)))));
    }
    if (m.life.state() == State.STOPPING) {
      choices.add(Tuple.of(2, Arbitraries.just(event("stop finished", new BrokerLife.StopFinished()))));
    }
    return Arbitraries.frequencyOf(choices.toArray(Tuple.Tuple2[]::new));
  }

  private static Transformer<Model> event(String description, Event event) {
    return Transformer.mutate(description, model -> model.feed(event));
  }

  /** The table's life plus what the invariants need to remember, and the lease beside it on the same clock. */
  static final class Model {
    Life life = Life.initial();
    Life before = life;
    Transition last = new Transition(life, List.of());
    Event lastEvent;
    final Set<String> withdrawn = new HashSet<>();
    Set<String> withdrawnBefore = Set.of();
    final List<String> issued = new ArrayList<>();
    boolean everStopping;
    FailureCause refusal;

    long now;
    OwnerLeaseRule lease = OwnerLeaseRule.startedAt(0, LEASE_MS, GRACE_MS);
    boolean leaseFired;
    long firedAt = -1;
    long oracleAtFiring;
    // The lease's rule restated from the raw history, as the oracle.
    long lastRenew;
    long refusedSince = -1;

    Model() {
      feed(new BrokerLife.Started());
    }

    void feed(Event event) {
      before = life;
      withdrawnBefore = Set.copyOf(withdrawn);
      lastEvent = event;
      last = BrokerLife.next(life, event);
      life = last.life();
      for (Effect effect : last.effects()) {
        if (effect instanceof BrokerLife.Withdraw withdraw) {
          withdrawn.add(withdraw.token());
        } else if (effect instanceof BrokerLife.Refuse refuse) {
          refusal = refuse.cause();
        }
      }
      everStopping |= life.state().stopping();
      boolean refused = refusedNow();
      if (refused && refusedSince < 0) {
        refusedSince = now;
      } else if (!refused) {
        refusedSince = -1;
      }
      lease = lease.refused(refused, now);
    }

    boolean refusedNow() {
      return life.state() == State.FAILED && refusal != null && !refusal.retryable();
    }

    void resolve() {
      String token = "t" + (issued.size() + 1);
      issued.add(token);
      feed(new BrokerLife.SessionResolved(token));
    }

    void renew() {
      lastRenew = now;
      lease = lease.renewedAt(now);
    }

    void tick(long ms) {
      now += ms;
      if (!leaseFired && lease.lapsedAt(now)) {
        leaseFired = true;
        firedAt = now;
        oracleAtFiring = oracleDeadline();
        feed(new BrokerLife.StopAsked());
      }
    }

    long oracleDeadline() {
      long byRenewal = lastRenew + LEASE_MS;
      return refusedSince < 0 ? byRenewal : Math.min(byRenewal, Math.max(lastRenew, refusedSince) + GRACE_MS);
    }

    /** Tokens a fact may name: those issued, or an unknown one when none was. */
    List<String> knownTokens() {
      return issued.isEmpty() ? List.of("t0") : List.copyOf(issued);
    }

    @Override
    public String toString() {
      return "Model[state=" + life.state() + ", served=" + life.served() + ", flow=" + life.flowRunning() + ", now=" + now
        + " ms, lease deadline=" + lease.deadlineMs() + " ms]";
    }
  }
}
