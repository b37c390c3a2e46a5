package dev.relaybroker.api;

import dev.relaybroker.session.SessionSnapshot;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The {@code /ws} journal of SPEC §3: broker events {@code {"seq","kind","at",…}} in a bounded buffer, replayed
 * after {@code sinceSeq} to each stream that opens and written live to every open one. Session events are derived
 * from consecutive snapshots, so the journal says exactly what the other surfaces serve. It never carries a token:
 * anyone holding the API key may read it.
 */
final class EventJournal {
  private final int capacity;
  private final Deque<JsonObject> events = new ArrayDeque<>();
  private final Set<ServerWebSocket> streams = new LinkedHashSet<>();
  private long nextSeq = 1;

  EventJournal(int capacity) {
    this.capacity = capacity;
  }

  /** What changed from one snapshot to the next: state, session (resolved or rolled over), presence, channels. */
  void onSnapshot(SessionSnapshot previous, SessionSnapshot next) {
    if (next.state() != previous.state() || next.retry() != previous.retry() || previous.seq() == 0) {
      JsonObject event = new JsonObject().put("kind", "state").put("state", next.state().wireName()).put("message", next.message());
      if (next.retry() != null) {
        event.put("cause", next.retry().cause().code()).put("attempt", next.retry().attempt()).put("delayMs", next.retry().delayMs());
      } else if (next.failure() != null) {
        event.put("cause", next.failure().code()).put("retryable", next.failure().retryable());
      }
      record(event);
    }
    if (next.session() != null && (previous.session() == null || !next.session().token().equals(previous.session().token()))) {
      boolean rollover = previous.session() != null && previous.session().agentId().equals(next.session().agentId());
      record(new JsonObject().put("kind", rollover ? "token_rollover" : "session_resolved")
        .put("agentId", next.session().agentId()).put("agentName", next.session().agentName()));
    }
    if (next.presence() != previous.presence()) {
      record(new JsonObject().put("kind", "presence").put("presence", next.presence().wireName()).put("message", next.presenceMessage()));
    }
    if (!next.channels().equals(previous.channels())) {
      record(new JsonObject().put("kind", "channels").put("channels", new JsonArray(next.channels())));
    }
  }

  /** What the cloud pushed over the realtime connection. */
  void onCloudEvent(JsonObject event) {
    record(new JsonObject().put("kind", "event").put("event", event));
  }

  /** Replays what came after {@code sinceSeq}, then keeps the stream until it closes. */
  void attach(ServerWebSocket ws, long sinceSeq) {
    events.stream().filter(e -> e.getLong("seq") > sinceSeq).forEach(e -> ws.writeTextMessage(e.encode()));
    streams.add(ws);
    ws.closeHandler(v -> streams.remove(ws));
    ws.exceptionHandler(err -> streams.remove(ws));
  }

  /** Keeps quiet streams inside the idle timeout, and finds those whose client is gone. */
  void ping() {
    streams.forEach(ws -> ws.writePing(Buffer.buffer()));
  }

  /** Open {@code /ws} streams: {@code /health}'s {@code wsConnections}. */
  int streamCount() {
    return streams.size();
  }

  void closeAll() {
    streams.forEach(ws -> ws.close((short) 1001, "broker stopping"));
  }

  private void record(JsonObject event) {
    event.put("seq", nextSeq++).put("at", Instant.now().toString());
    events.addLast(event);
    while (events.size() > capacity) {
      events.removeFirst();
    }
    String encoded = event.encode();
    streams.forEach(ws -> ws.writeTextMessage(encoded));
  }
}
