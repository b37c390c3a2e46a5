package dev.relaybroker.cloud;

import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.config.CloudOptions;
import dev.relaybroker.emulator.Engine;
import dev.relaybroker.support.EmulatorDriver;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.relaybroker.support.Await.await;
import static dev.relaybroker.support.Await.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

/** Every outcome of a cloud call becomes a record or one typed failure, decided in one place. */
class RelaycastClientTest {
  private EmulatorDriver emulator;
  private RelaycastClient client;
  private String key;

  @BeforeEach
  void start() {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    key = emulator.createWorkspace();
    client = new RelaycastClient(emulator.vertx(), emulator.baseUrl() + "/", new CloudOptions().setRequestTimeoutMs(300));
  }

  @AfterEach
  void stop() {
    client.close();
    emulator.close();
  }

  private BrokerFailure failureOf(io.vertx.core.Future<?> call) {
    Throwable failure = awaitFailure(call);
    assertThat(failure).isInstanceOf(BrokerFailure.class);
    return (BrokerFailure) failure;
  }

  @Test
  void typedRecordsFromEveryRoute() {
    Registration registration = await(client.register(key, "alpha", new JsonObject().put("relay_broker_identity", "abc")));
    AgentRecord record = await(client.getAgent(key, "alpha"));
    RotatedToken rotated = await(client.rotateToken(registration.token(), "alpha"));
    TakeoverResult taken = await(client.takeover(key, "alpha", new TakeoverRequest(record.id(), "t", "r", "s", "n")));
    TakeoverResult recovered = await(client.recover(key, "alpha", new TakeoverRequest(record.id(), "t", "r", "s", "n")));
    await(client.listChannels(key));
    AgentRecord self = await(client.getSelf(recovered.token()));
    CreatedWorkspace workspace = await(client.createWorkspace("relay-abcdef12"));

    assertThat(registration.workspaceId()).isNull();
    assertThat(record.id()).isEqualTo(registration.id());
    assertThat(record.brokerIdentity()).isEqualTo("abc");
    assertThat(record.isLive()).isFalse();
    assertThat(rotated.token()).isNotEqualTo(registration.token());
    assertThat(taken.agentId()).isEqualTo(registration.id());
    assertThat(taken.auditId()).startsWith("aud_");
    assertThat(self.name()).isEqualTo("alpha");
    assertThat(workspace.apiKey()).startsWith("rk_live_");
    assertThat(registration.toString() + rotated + taken + workspace).doesNotContain("at_live_").doesNotContain("rk_live_");
  }

  @ParameterizedTest(name = "{0} -> {1} retryable={2}")
  @CsvSource({
    "status:500, cloud_unavailable, true",
    "status:502, cloud_unavailable, true",
    "status:503, cloud_unavailable, true",
    "status:429, cloud_unavailable, true",
    "status:401, workspace_key_rejected, false",
    "status:403, workspace_key_rejected, false",
    "status:404, cloud_protocol_error, false",
    "html, cloud_unavailable, true",
    "malformed, cloud_unavailable, true",
    "empty, cloud_unavailable, true",
    "reset, cloud_unreachable, true",
    "delay, cloud_timeout, true",
  })
  void everyFaultBecomesOneTypedFailure(String fault, String codes, boolean retryable) {
    JsonObject rule = new JsonObject().put("path", "/v1/agents");
    if (fault.startsWith("status:")) {
      rule.put("status", Integer.parseInt(fault.substring(7)));
    } else {
      rule.put("kind", fault);
    }
    if (fault.equals("delay")) {
      rule.put("delay_ms", 1000);
    }
    emulator.fault(rule);

    BrokerFailure failure = failureOf(client.register(key, "alpha", null));

    assertThat(codes.split("\\|")).contains(failure.code());
    assertThat(failure.retryable()).isEqualTo(retryable);
    assertThat(failure.getMessage()).isNotBlank().doesNotContain(key);
  }

  @Test
  void envelopeFreeJsonIsANonRetryableProtocolErrorAndOkFalseOn200IsAFailure() {
    emulator.fault(new JsonObject().put("path", "/v1/agents").put("status", 200).put("body", "{\"id\": \"agt_1\"}"));
    emulator.fault(new JsonObject().put("path", "/v1/agents").put("status", 200)
      .put("body", "{\"ok\": false, \"error\": {\"code\": \"quota_exceeded\", \"message\": \"too many\"}}"));
    emulator.fault(new JsonObject().put("path", "/v1/agents").put("status", 201).put("body", "{\"ok\": true, \"data\": {\"name\": \"x\"}}"));

    BrokerFailure envelopeFree = failureOf(client.register(key, "alpha", null));
    BrokerFailure okFalse = failureOf(client.register(key, "alpha", null));
    BrokerFailure missingId = failureOf(client.register(key, "alpha", null));

    assertThat(envelopeFree.code()).isEqualTo("cloud_protocol_error");
    assertThat(envelopeFree.retryable()).isFalse();
    assertThat(okFalse.code()).isEqualTo("cloud_rejected");
    assertThat(okFalse.cloudCode()).isEqualTo("quota_exceeded");
    assertThat(okFalse.retryable()).isFalse();
    assertThat(missingId.code()).isEqualTo("cloud_protocol_error");
    assertThat(missingId.getMessage()).contains("'id'");
  }

  @Test
  void retryAfterIsReadInSecondsAndAsADate() {
    emulator.fault(new JsonObject().put("path", "/v1/agents").put("status", 429).put("retry_after", 3));
    assertThat(failureOf(client.register(key, "alpha", null)).retryAfterMs()).isEqualTo(3000L);
    assertThat(RelaycastClient.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).isZero();
    assertThat(RelaycastClient.parseRetryAfter("soon")).isNull();
    assertThat(RelaycastClient.parseRetryAfter("999999")).isEqualTo(600_000L);
  }

  @Test
  void leanAgentRecordsDecodeWithOnlyAnId() {
    emulator.fault(new JsonObject().put("method", "GET").put("path", "/v1/agents/*").put("status", 200)
      .put("body", "{\"ok\": true, \"data\": {\"id\": \"agt_1\", \"status\": 7, \"metadata\": [1], \"extra\": {\"x\": 1}}}"));

    AgentRecord record = await(client.getAgent(key, "ghost"));

    assertThat(record.id()).isEqualTo("agt_1");
    assertThat(record.name()).isEqualTo("ghost");
    assertThat(record.status()).isNull();
    assertThat(record.metadata()).isNull();
    assertThat(record.isLive()).isFalse();
  }

  @Test
  void connectionRefusedIsRetryableUnreachable() {
    RelaycastClient nowhere = new RelaycastClient(emulator.vertx(), "http://127.0.0.1:1", new CloudOptions());
    BrokerFailure failure = failureOf(nowhere.listChannels(key));
    nowhere.close();
    assertThat(failure.code()).isEqualTo("cloud_unreachable");
    assertThat(failure.retryable()).isTrue();
  }

  @Test
  void statusesCountAsLiveOnlyWhenOnlineOrActive() {
    assertThat(new AgentRecord("a", "n", "online", null).isLive()).isTrue();
    assertThat(new AgentRecord("a", "n", " Active ", null).isLive()).isTrue();
    assertThat(new AgentRecord("a", "n", "offline", null).isLive()).isFalse();
    assertThat(new AgentRecord("a", "n", null, null).isLive()).isFalse();
  }
}
