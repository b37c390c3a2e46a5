package dev.relaybroker.cloud;

import dev.relaybroker.session.BrokerFailure;
import dev.relaybroker.session.FailureCause;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.impl.HttpResponseImpl;
import org.junit.jupiter.api.Test;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The cloud client's decoding on raw answers (pure: no socket): which answers succeed, the one typed failure of
 * every other one with its facts, the success shapes, Retry-After, and transport failures.
 */
class CloudDecodingTest {
  private static final Function<Object, Object> DATA = data -> data;

  private static Future<Object> decode(boolean workspaceKeyUsed, int status, String retryAfter, String contentType, String body) {
    return RelaycastClient.decode("POST /v1/agents", workspaceKeyUsed, status, retryAfter, contentType,
      body == null ? null : Buffer.buffer(body), DATA);
  }

  private static BrokerFailure failure(Future<?> result) {
    assertThat(result.failed()).as("failed: %s", result).isTrue();
    return (BrokerFailure) result.cause();
  }

  @Test
  void anOkEnvelopeOnA2xxHandsItsDataToTheDecoder() {
    assertThat(decode(true, 200, null, null, "{\"ok\": true, \"data\": {\"id\": \"a\"}}").result())
      .isEqualTo(new JsonObject().put("id", "a"));
    assertThat(decode(true, 201, null, null, "{\"ok\": true, \"data\": 7}").result()).isEqualTo(7);
    assertThat(decode(true, 299, null, null, "{\"ok\": true}").succeeded()).isTrue();
  }

  @Test
  void anOkEnvelopeOutsideThe2xxRangeIsAFailureOfItsStatus() {
    BrokerFailure at300 = failure(decode(true, 300, null, null, "{\"ok\": true, \"data\": {}}"));
    assertThat(at300.cause()).isEqualTo(FailureCause.CLOUD_REJECTED);
    assertThat(at300.httpStatus()).isEqualTo(300);
    assertThat(at300.cloudCode()).isEqualTo("http_300");
    assertThat(at300.getMessage()).isEqualTo("the cloud answered POST /v1/agents with 300 http_300");
    BrokerFailure at199 = failure(decode(true, 199, null, null, "{\"ok\": true, \"data\": {}}"));
    assertThat(at199.httpStatus()).isEqualTo(199);
  }

  @Test
  void aRefusalCarriesStatusCodeMessageAndRetryAfter() {
    BrokerFailure refused = failure(decode(true, 409, "3", "application/json",
      "{\"ok\": false, \"error\": {\"code\": \"name_taken\", \"message\": \"taken\"}}"));
    assertThat(refused.cause()).isEqualTo(FailureCause.AGENT_NAME_CONFLICT);
    assertThat(refused.httpStatus()).isEqualTo(409);
    assertThat(refused.cloudCode()).isEqualTo("name_taken");
    assertThat(refused.retryAfterMs()).isEqualTo(3000L);
    assertThat(refused.getMessage()).isEqualTo("the cloud answered POST /v1/agents with 409 name_taken (taken)");
  }

  @Test
  void theKeyOrTheTokenDecidesWhatA401Means() {
    String body = "{\"ok\": false, \"error\": {\"code\": \"unauthorized\"}}";
    assertThat(failure(decode(true, 401, null, null, body)).cause()).isEqualTo(FailureCause.WORKSPACE_KEY_REJECTED);
    assertThat(failure(decode(false, 401, null, null, body)).cause()).isEqualTo(FailureCause.AGENT_TOKEN_REJECTED);
    assertThat(failure(decode(true, 401, null, null, "")).cause()).isEqualTo(FailureCause.WORKSPACE_KEY_REJECTED);
    assertThat(failure(decode(false, 401, null, null, "")).cause()).isEqualTo(FailureCause.AGENT_TOKEN_REJECTED);
  }

  @Test
  void okFalseOnA2xxIsARefusalWhateverTheStatusSays() {
    BrokerFailure quota = failure(decode(true, 200, null, null,
      "{\"ok\": false, \"error\": {\"code\": \"quota_exceeded\", \"message\": \"too many\"}}"));
    assertThat(quota.cause()).isEqualTo(FailureCause.CLOUD_REJECTED);
    assertThat(quota.httpStatus()).isEqualTo(200);
    assertThat(quota.cloudCode()).isEqualTo("quota_exceeded");
    assertThat(quota.retryable()).isFalse();
    // 200 read as 400: a 401-looking envelope on a 2xx stays a refusal, not a dead key.
    assertThat(failure(decode(true, 200, null, null, "{\"ok\": false, \"error\": {\"code\": \"x\"}}")).cause())
      .isEqualTo(FailureCause.CLOUD_REJECTED);
  }

  @Test
  void aMissingOrBlankErrorCodeBecomesTheStatusAndALongMessageIsCut() {
    assertThat(failure(decode(true, 503, null, null, "{\"ok\": false}")).cloudCode()).isEqualTo("http_503");
    assertThat(failure(decode(true, 503, null, null, "{\"ok\": false, \"error\": {\"code\": \" \"}}")).cloudCode())
      .isEqualTo("http_503");
    assertThat(failure(decode(true, 503, null, null, "{\"ok\": false, \"error\": {\"code\": 5}}")).cloudCode())
      .isEqualTo("http_503");
    assertThat(failure(decode(true, 503, null, null, "{\"ok\": false, \"error\": \"oops\"}")).getMessage())
      .isEqualTo("the cloud answered POST /v1/agents with 503 http_503");
    assertThat(failure(decode(true, 503, null, null, "{\"ok\": false, \"error\": {\"message\": 5}}")).getMessage())
      .isEqualTo("the cloud answered POST /v1/agents with 503 http_503");
    String exactly200 = "m".repeat(200);
    assertThat(failure(decode(true, 500, null, null, "{\"ok\": false, \"error\": {\"message\": \"" + exactly200 + "\"}}"))
      .getMessage()).endsWith("(" + exactly200 + ")");
    assertThat(failure(decode(true, 500, null, null, "{\"ok\": false, \"error\": {\"message\": \"" + exactly200 + "x\"}}"))
      .getMessage()).endsWith("(" + exactly200 + "…)");
  }

  @Test
  void aSuccessThatIsNotJsonIsAnOutageToWaitOutAndEnvelopeFreeJsonIsAMismatch() {
    BrokerFailure portal = failure(decode(true, 200, "2", "text/html; charset=utf-8", "<html>login</html>"));
    assertThat(portal.cause()).isEqualTo(FailureCause.CLOUD_UNAVAILABLE);
    assertThat(portal.httpStatus()).isEqualTo(200);
    assertThat(portal.retryAfterMs()).isEqualTo(2000L);
    assertThat(portal.getMessage()).isEqualTo("the cloud answered POST /v1/agents with 200 and an HTML page");
    assertThat(failure(decode(true, 200, null, "text/plain", "nope")).getMessage())
      .isEqualTo("the cloud answered POST /v1/agents with 200 and a body that is not a JSON object");
    assertThat(failure(decode(true, 200, null, null, "nope")).getMessage()).endsWith("a body that is not a JSON object");
    assertThat(failure(decode(true, 200, null, "text/html", "")).getMessage()).endsWith("and an empty body");
    assertThat(failure(decode(true, 200, null, "text/html", null)).getMessage()).endsWith("and an empty body");
    assertThat(failure(decode(true, 200, null, null, "[1, 2]")).cause()).isEqualTo(FailureCause.CLOUD_UNAVAILABLE);

    BrokerFailure foreign = failure(decode(true, 200, null, null, "{\"id\": \"agt_1\"}"));
    assertThat(foreign.cause()).isEqualTo(FailureCause.CLOUD_PROTOCOL_ERROR);
    assertThat(foreign.getMessage()).isEqualTo("the cloud answered POST /v1/agents with 200 and JSON without the {ok, data|error} envelope");
    assertThat(failure(decode(true, 200, null, null, "{\"ok\": \"yes\"}")).cause()).isEqualTo(FailureCause.CLOUD_PROTOCOL_ERROR);
  }

  @Test
  void anErrorStatusWithoutAnEnvelopeIsMappedByItsStatus() {
    BrokerFailure down = failure(decode(true, 502, "1", "text/html", "<html>bad gateway</html>"));
    assertThat(down.cause()).isEqualTo(FailureCause.CLOUD_UNAVAILABLE);
    assertThat(down.httpStatus()).isEqualTo(502);
    assertThat(down.cloudCode()).isNull();
    assertThat(down.retryAfterMs()).isEqualTo(1000L);
    assertThat(failure(decode(true, 404, null, null, "{\"id\": 1}")).cause()).isEqualTo(FailureCause.CLOUD_PROTOCOL_ERROR);
  }

  @Test
  void aSuccessLackingWhatTheContractPromisesIsAProtocolError() {
    Future<Registration> missingToken = RelaycastClient.decode("POST /v1/agents", true, 201, "4", null,
      Buffer.buffer("{\"ok\": true, \"data\": {\"id\": \"agt_1\"}}"), data -> RelaycastClient.registration(data, "n"));
    BrokerFailure mismatch = failure(missingToken);
    assertThat(mismatch.cause()).isEqualTo(FailureCause.CLOUD_PROTOCOL_ERROR);
    assertThat(mismatch.getMessage()).isEqualTo("the cloud's answer to POST /v1/agents lacks the required field 'token'");
    assertThat(mismatch.httpStatus()).isEqualTo(201);
    assertThat(mismatch.retryAfterMs()).isNull();
    Future<Registration> noData = RelaycastClient.decode("POST /v1/agents", true, 201, null, null,
      Buffer.buffer("{\"ok\": true, \"data\": [1]}"), data -> RelaycastClient.registration(data, "n"));
    assertThat(failure(noData).getMessage()).isEqualTo("the cloud's answer to POST /v1/agents has no data object");
  }

  @Test
  void theRouteIsNamedWithoutTheAgentsNameAndAnAnswersRetryAfterIsKept() {
    assertThat(RelaycastClient.redactPath("/v1/agents/secret%20name/rotate-token")).isEqualTo("/v1/agents/{name}/rotate-token");
    assertThat(RelaycastClient.redactPath("/v1/channels/ops/join")).isEqualTo("/v1/channels/{name}/join");
    assertThat(RelaycastClient.decode("POST /v1/agents/{name}/rotate-token", false,
      new BoundedExchange.Answer(503, "2", "text/html", Buffer.buffer("")), DATA, CloudText.shapesOnly()).cause().getMessage())
      .isEqualTo("the cloud answered POST /v1/agents/{name}/rotate-token with 503 and an empty body");
    assertThat(((BrokerFailure) RelaycastClient.decode("GET /v1/agents/{name}", false,
      new BoundedExchange.Answer(502, "2", "text/html", Buffer.buffer("<p>")), DATA, CloudText.shapesOnly()).cause()))
      .satisfies(f -> assertThat(f.retryAfterMs()).isEqualTo(2000L))
      .satisfies(f -> assertThat(f.getMessage()).endsWith("with 502 and an HTML page"));
  }

  @Test
  void eachSuccessShapeIsDecodedLeniently() {
    JsonObject full = new JsonObject().put("id", "agt_1").put("name", "alpha").put("token", "at_live_x1y2z3").put("status", "online")
      .put("workspace_id", "ws_1").put("agent_id", "agt_2").put("audit_id", "aud_1").put("api_key", "rk_test_1")
      .put("metadata", new JsonObject().put("relay_broker_identity", "h1"));
    assertThat(RelaycastClient.registration(full, "n")).isEqualTo(new Registration("agt_1", "alpha", "at_live_x1y2z3", "online", "ws_1"));
    assertThat(RelaycastClient.rotatedToken(full, "n")).isEqualTo(new RotatedToken("alpha", "at_live_x1y2z3"));
    assertThat(RelaycastClient.takeoverResult(full, "n")).isEqualTo(new TakeoverResult("agt_2", "alpha", "at_live_x1y2z3", "aud_1"));
    assertThat(RelaycastClient.createdWorkspace(full)).isEqualTo(new CreatedWorkspace("ws_1", "rk_test_1"));
    AgentRecord record = RelaycastClient.agentRecord(full, "n");
    assertThat(record).isEqualTo(new AgentRecord("agt_1", "alpha", "online", full.getJsonObject("metadata")));
    assertThat(record.brokerIdentity()).isEqualTo("h1");

    // Lean: the requested name stands in for a missing or blank one; optional fields become null.
    JsonObject lean = new JsonObject().put("id", "agt_1").put("token", "at_live_x1y2z3").put("name", " ").put("status", 7)
      .put("metadata", "not an object").put("agent_id", 5);
    assertThat(RelaycastClient.registration(lean, "n")).isEqualTo(new Registration("agt_1", "n", "at_live_x1y2z3", null, null));
    assertThat(RelaycastClient.rotatedToken(lean, "n")).isEqualTo(new RotatedToken("n", "at_live_x1y2z3"));
    assertThat(RelaycastClient.takeoverResult(lean, "n")).isEqualTo(new TakeoverResult("agt_1", "n", "at_live_x1y2z3", null));
    assertThat(RelaycastClient.agentRecord(lean, "n")).isEqualTo(new AgentRecord("agt_1", "n", null, null));
    assertThat(RelaycastClient.agentRecord(lean, "n").brokerIdentity()).isNull();
    assertThat(RelaycastClient.createdWorkspace(new JsonObject().put("api_key", "rk_test_1")))
      .isEqualTo(new CreatedWorkspace(null, "rk_test_1"));

    assertThatThrownBy(() -> RelaycastClient.registration(new JsonObject().put("id", " ").put("token", "t"), "n"))
      .hasMessage("lacks the required field 'id'");
    assertThatThrownBy(() -> RelaycastClient.agentRecord(new JsonObject().put("id", 5), "n"))
      .hasMessage("lacks the required field 'id'");
    assertThatThrownBy(() -> RelaycastClient.rotatedToken("token", "n")).hasMessage("has no data object");
  }

  @Test
  void onlyOnlineOrActiveMeanLive() {
    assertThat(new AgentRecord("a", "n", "online", null).isLive()).isTrue();
    assertThat(new AgentRecord("a", "n", " ACTIVE ", null).isLive()).isTrue();
    assertThat(new AgentRecord("a", "n", "offline", null).isLive()).isFalse();
    assertThat(new AgentRecord("a", "n", "idle", null).isLive()).isFalse();
    assertThat(new AgentRecord("a", "n", null, null).isLive()).isFalse();
    assertThat(new AgentRecord("a", "n", null, new JsonObject().put("relay_broker_identity", 5)).brokerIdentity()).isNull();
  }

  @Test
  void recordsCarryingATokenOrKeyNeverPrintIt() {
    assertThat(new Registration("agt_1", "alpha", "at_live_secret", "online", "ws_1"))
      .hasToString("Registration[id=agt_1, name=alpha]");
    assertThat(new RotatedToken("alpha", "at_live_secret")).hasToString("RotatedToken[name=alpha]");
    assertThat(new TakeoverResult("agt_1", "alpha", "at_live_secret", "aud_1"))
      .hasToString("TakeoverResult[agentId=agt_1, name=alpha, auditId=aud_1]");
    assertThat(new CreatedWorkspace("ws_1", "rk_live_secret")).hasToString("CreatedWorkspace[workspaceId=ws_1]");
  }

  @Test
  void retryAfterIsReadInSecondsOrAsADateAndBounded() {
    assertThat(RelaycastClient.parseRetryAfter(null)).isNull();
    assertThat(RelaycastClient.parseRetryAfter("  ")).isNull();
    assertThat(RelaycastClient.parseRetryAfter(" 3 ")).isEqualTo(3000L);
    assertThat(RelaycastClient.parseRetryAfter("0")).isZero();
    assertThat(RelaycastClient.parseRetryAfter("-1")).isNull();
    assertThat(RelaycastClient.parseRetryAfter("600")).isEqualTo(600_000L);
    assertThat(RelaycastClient.parseRetryAfter("601")).isEqualTo(600_000L);
    assertThat(RelaycastClient.parseRetryAfter("soon")).isNull();
    assertThat(RelaycastClient.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).as("in the past").isZero();
    String inAMinute = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(62));
    assertThat(RelaycastClient.parseRetryAfter(inAMinute)).isBetween(55_000L, 62_000L);
    String inADay = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusDays(1));
    assertThat(RelaycastClient.parseRetryAfter(inADay)).isEqualTo(600_000L);
  }

  @Test
  void transportFailuresAreATimeoutOrUnreachableAndBothRetryable() {
    assertThat(RelaycastClient.transportFailure(new TimeoutException()).cause()).isEqualTo(FailureCause.CLOUD_TIMEOUT);
    assertThat(RelaycastClient.transportFailure(new TimeoutException()).getMessage())
      .isEqualTo("no answer from the cloud in time (TimeoutException)");
    assertThat(RelaycastClient.transportFailure(new io.netty.handler.timeout.ReadTimeoutException()).cause())
      .as("a class named ...Timeout...").isEqualTo(FailureCause.CLOUD_TIMEOUT);
    assertThat(RelaycastClient.transportFailure(new RuntimeException("The timeout period elapsed")).cause())
      .isEqualTo(FailureCause.CLOUD_TIMEOUT);
    assertThat(RelaycastClient.transportFailure(new RuntimeException("connect Timed Out")).cause())
      .isEqualTo(FailureCause.CLOUD_TIMEOUT);
    BrokerFailure refused = RelaycastClient.transportFailure(new java.net.ConnectException("Connection refused"));
    assertThat(refused.cause()).isEqualTo(FailureCause.CLOUD_UNREACHABLE);
    assertThat(refused.getMessage()).isEqualTo("cannot reach the cloud (Connection refused)");
    assertThat(refused.retryable()).isTrue();
    assertThat(refused.httpStatus()).isZero();
    assertThat(RelaycastClient.transportFailure(new RuntimeException("x".repeat(300))).getMessage())
      .hasSize("cannot reach the cloud ()".length() + 201);
  }

  @Test
  void aNameBecomesOnePercentEncodedPathSegment() {
    assertThat(RelaycastClient.encodeSegment("a b/c+d")).isEqualTo("a%20b%2Fc%2Bd");
    assertThat(RelaycastClient.encodeSegment("日本")).isEqualTo("%E6%97%A5%E6%9C%AC");
  }

  @Test
  void tokensAndNamesAreCheckedAtTheEdgesOfTheirLengths() {
    JsonObject record = new JsonObject().put("id", "agt_1").put("name", "alpha");
    assertThat(RelaycastClient.registration(record.copy().put("token", "a".repeat(8)), "n").token()).hasSize(8);
    assertThat(RelaycastClient.registration(record.copy().put("token", "a".repeat(512)), "n").token()).hasSize(512);
    assertThatThrownBy(() -> RelaycastClient.registration(record.copy().put("token", "a".repeat(7)), "n"))
      .hasMessageContaining("not a bearer token (7 characters");
    assertThatThrownBy(() -> RelaycastClient.registration(record.copy().put("token", "a".repeat(513)), "n"))
      .hasMessageContaining("not a bearer token (513 characters");

    JsonObject withToken = new JsonObject().put("id", "agt_1").put("token", "at_live_x1y2z3");
    assertThat(RelaycastClient.registration(withToken.copy().put("name", "n".repeat(256)), "n").name()).hasSize(256);
    assertThatThrownBy(() -> RelaycastClient.registration(withToken.copy().put("name", "n".repeat(257)), "n"))
      .hasMessageContaining("(257 characters; never quoted");
    assertThatThrownBy(() -> RelaycastClient.registration(withToken.copy().put("name", "al\u202epha"), "n"))
      .hasMessageContaining("with control characters");
  }

  @Test
  void aDecoderThatThrowsIsAProtocolErrorNamingOnlyTheExceptionsKind() {
    BrokerFailure failure = failure(RelaycastClient.decode("GET /v1/agent", false, 200, null, "application/json",
      Buffer.buffer("{\"ok\": true, \"data\": {}}"), data -> {
        throw new IllegalStateException("at_live_secretsecret in a stack");
      }));

    assertThat(failure.cause()).isEqualTo(FailureCause.CLOUD_PROTOCOL_ERROR);
    assertThat(failure.getMessage()).isEqualTo("the cloud's answer to GET /v1/agent could not be decoded (IllegalStateException)");
  }
}
