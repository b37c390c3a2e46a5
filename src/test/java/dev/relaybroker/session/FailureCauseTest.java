package dev.relaybroker.session;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one table from a cloud answer to a cause, and what "retryable" means (pure). */
class FailureCauseTest {
  @ParameterizedTest(name = "{0} {1} with the workspace key: {2}")
  @CsvSource(nullValues = "null", value = {
    "500, internal_error,       true,  CLOUD_UNAVAILABLE",
    "503, service_unavailable,  false, CLOUD_UNAVAILABLE",
    "599, null,                 true,  CLOUD_UNAVAILABLE",
    "408, request_timeout,      true,  CLOUD_UNAVAILABLE",
    "429, rate_limited,         false, CLOUD_UNAVAILABLE",
    "401, unauthorized,         true,  WORKSPACE_KEY_REJECTED",
    "403, forbidden,            true,  WORKSPACE_KEY_REJECTED",
    "401, unauthorized,         false, AGENT_TOKEN_REJECTED",
    "403, forbidden,            false, AGENT_TOKEN_REJECTED",
    "404, agent_not_found,      true,  AGENT_NOT_FOUND",
    "404, not_found,            true,  CLOUD_PROTOCOL_ERROR",
    "404, null,                 true,  CLOUD_PROTOCOL_ERROR",
    "409, anything,             true,  AGENT_NAME_CONFLICT",
    "409, null,                 true,  AGENT_NAME_CONFLICT",
    "400, name_taken,           true,  AGENT_NAME_CONFLICT",
    "422, duplicate,            true,  AGENT_NAME_CONFLICT",
    "400, agent_id_mismatch,    true,  AGENT_NAME_CONFLICT",
    "400, agent_already_exists, true,  AGENT_NAME_CONFLICT",
    "400, name_conflict,        true,  AGENT_NAME_CONFLICT",
    "400, conflict,             true,  AGENT_NAME_CONFLICT",
    "400, invalid_request,      true,  CLOUD_REJECTED",
    "400, null,                 true,  CLOUD_REJECTED",
    "413, payload_too_large,    false, CLOUD_REJECTED",
    "407, null,                 true,  CLOUD_REJECTED",
    "409, null,                 false, AGENT_NAME_CONFLICT",
    "499, null,                 true,  CLOUD_REJECTED",
  })
  void everyCloudAnswerMapsToOneCause(int status, String cloudCode, boolean workspaceKeyUsed, FailureCause expected) {
    assertThat(FailureCause.fromCloud(status, cloudCode, workspaceKeyUsed)).isEqualTo(expected);
  }

  @Test
  void onlyTheCloudBeingDownSlowOrUnreachableIsRetryable() {
    assertThat(java.util.Arrays.stream(FailureCause.values()).filter(FailureCause::retryable))
      .containsExactlyInAnyOrder(FailureCause.CLOUD_UNAVAILABLE, FailureCause.CLOUD_UNREACHABLE, FailureCause.CLOUD_TIMEOUT);
  }

  @ParameterizedTest
  @EnumSource(FailureCause.class)
  void theWireCodeIsSnakeCaseAndParsesBack(FailureCause cause) {
    assertThat(cause.code()).matches("[a-z_]+").isEqualTo(cause.name().toLowerCase());
    assertThat(FailureCause.parse(cause.code())).isSameAs(cause);
  }

  @Test
  void codesAreReadWhateverTheirCaseAndUnknownOnesAreRefused() {
    assertThat(FailureCause.parse("Workspace_Key_Rejected")).isEqualTo(FailureCause.WORKSPACE_KEY_REJECTED);
    assertThat(FailureCause.WORKSPACE_KEY_REJECTED.code()).isEqualTo("workspace_key_rejected");
    assertThatThrownBy(() -> FailureCause.parse("no_such_cause")).isInstanceOf(IllegalArgumentException.class);
  }
}
