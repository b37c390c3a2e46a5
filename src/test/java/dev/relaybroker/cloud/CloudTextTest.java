package dev.relaybroker.cloud;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What a person reads of the cloud's text: no secret, by value or by shape, and no control character. */
class CloudTextTest {
  @Test
  void secretShapedWordsAreCutEvenWhenNotKnown() {
    String cleaned = CloudText.shapesOnly().clean("key rk_live_0123456789abcdef, token at_live_fedcba9876543210 and br_"
      + "00112233445566778899aabbccddeeff; rk_test_x/y=");

    assertThat(cleaned).isEqualTo("key [redacted], token [redacted] and [redacted]; [redacted]");
  }

  @Test
  void aKnownSecretIsCutWholeAndByItsRandomPart() {
    CloudText text = CloudText.shapesOnly().remember("rk_live_s3cr3tvalue99").remember("plainsecretvalue");

    assertThat(text.clean("a rk_live_s3cr3tvalue99 b s3cr3tvalue99 c plainsecretvalue d"))
      .isEqualTo("a [redacted] b [redacted] c [redacted] d");
  }

  @Test
  void controlCharactersBecomeVisibleEscapes() {
    assertThat(CloudText.shapesOnly().clean("one\r\ntwo\tthree\u001b[31mred\u0007\u202eevil\u2028"))
      .isEqualTo("one\\r\\ntwo\\tthree\\u001b[31mred\\u0007\\u202eevil\\u2028");
  }

  @Test
  void longTextIsBoundedWithoutLeavingHalfASecret() {
    String cleaned = CloudText.shapesOnly().clean("x".repeat(190) + " at_live_" + "a".repeat(40));

    assertThat(cleaned).hasSizeLessThanOrEqualTo(CloudText.MAX_LENGTH + 1).doesNotContain("at_live_aaaa");
  }
}
