package dev.relaybroker.soak;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** One answer to {@code GET /api/session}: status (0 = none), the served token's fingerprint, and when. */
record Answer(int status, String fingerprint, String code, long sentMs, long receivedMs) {
}

/**
 * Every session answer of a soak, kept as runs of equal answers (same status and token) in the order they arrived, so
 * an hour of polling fits in memory and every change of answer stays visible. Judged at the end against the cloud's
 * token history: a valid token must never be withheld, a revoked one never served once the broker has shown it knew.
 */
final class AnswerTimeline {

  private static final class Run {
    final int status;
    final String fingerprint;
    final String code;
    long firstSent;
    long lastSent;
    long firstReceived;
    long lastReceived;
    long count;

    Run(Answer a) {
      status = a.status();
      fingerprint = a.fingerprint();
      code = a.code();
      firstSent = a.sentMs();
      lastSent = a.sentMs();
      firstReceived = a.receivedMs();
      lastReceived = a.receivedMs();
      count = 1;
    }

    boolean same(Answer a) {
      return status == a.status() && java.util.Objects.equals(fingerprint, a.fingerprint());
    }

    void add(Answer a) {
      firstSent = Math.min(firstSent, a.sentMs());
      lastSent = Math.max(lastSent, a.sentMs());
      lastReceived = Math.max(lastReceived, a.receivedMs());
      count++;
    }

    @Override
    public String toString() {
      return count + " x " + (status == 200 ? "200 token " + fingerprint : status + " " + code) + " sent " + firstSent + ".." + lastSent;
    }
  }

  record Verdict(long withheld, long unanswered, long deadServed, long longestDeadWindowMs, List<String> examples) {
  }

  private final List<Run> runs = new ArrayList<>();
  private long answers;

  synchronized void record(Answer answer) {
    answers++;
    Run last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
    if (last != null && last.same(answer)) {
      last.add(answer);
    } else {
      runs.add(new Run(answer));
    }
  }

  synchronized long answers() {
    return answers;
  }

  /**
   * @param validity token fingerprint → {issued at, revoked at (Long.MAX_VALUE while valid)}, from the cloud
   */
  synchronized Verdict judge(Map<String, long[]> validity) {
    long withheld = 0;
    long unanswered = 0;
    long deadServed = 0;
    long longestDeadWindow = 0;
    List<String> examples = new ArrayList<>();

    // A non-200 answer is a withheld token when the token served last before it was still valid when it was answered.
    String lastServed = null;
    for (Run run : runs) {
      if (run.status == 200) {
        lastServed = run.fingerprint;
        continue;
      }
      if (run.status == 0) {
        unanswered += run.count;
        example(examples, "no answer: " + run);
        continue;
      }
      long[] valid = lastServed == null ? null : validity.get(lastServed);
      if (valid != null && valid[1] > run.lastReceived) {
        withheld += run.count;
        example(examples, "withheld a valid token " + lastServed + ": " + run);
      }
    }

    // A revoked token may be served until the broker shows it knew: its first different answer to a request sent
    // after the revocation. Served after that is a dead token served.
    Map<String, Long> knownAt = new HashMap<>();
    Map<String, Long> lastServedAt = new HashMap<>();
    for (Run run : runs) {
      if (run.status == 200) {
        lastServedAt.merge(run.fingerprint, run.lastSent, Math::max);
      }
    }
    for (Map.Entry<String, Long> served : lastServedAt.entrySet()) {
      long[] valid = validity.get(served.getKey());
      if (valid == null || valid[1] == Long.MAX_VALUE) {
        continue;
      }
      long revoked = valid[1];
      long known = Long.MAX_VALUE;
      for (Run run : runs) {
        boolean different = run.status != 200 || !run.fingerprint.equals(served.getKey());
        if (different && run.status != 0 && run.lastSent >= revoked) {
          known = Math.max(run.firstReceived, revoked);
          break;
        }
      }
      knownAt.put(served.getKey(), known);
      long window = Math.min(served.getValue(), known) - revoked;
      longestDeadWindow = Math.max(longestDeadWindow, window);
      if (window >= 1000) {
        example(examples, "revoked token " + served.getKey() + " served for " + window + " ms after its revocation at " + revoked
          + " (the broker's first different answer: " + (known == Long.MAX_VALUE ? "none" : known) + ")");
      }
    }
    for (Run run : runs) {
      if (run.status == 200 && knownAt.containsKey(run.fingerprint) && run.lastSent > knownAt.get(run.fingerprint)) {
        deadServed += run.count;
        example(examples, "served revoked token " + run.fingerprint + " after the broker knew (" + knownAt.get(run.fingerprint) + "): " + run);
      }
    }
    return new Verdict(withheld, unanswered, deadServed, Math.max(0, longestDeadWindow), examples);
  }

  private static void example(List<String> examples, String text) {
    if (examples.size() < 50) {
      examples.add(text);
    }
  }
}
