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

  @Test
  void theBidiAndSeparatorRangesAreEscapedToTheirEdgesAndNoFurther() {
    for (char unsafe : new char[] {'\u202a', '\u202e', '\u2066', '\u2069', '\u2028', '\u2029', '\u007f', '\u0085', '\u0000'}) {
      assertThat(CloudText.isUnsafe(unsafe)).as("U+%04x", (int) unsafe).isTrue();
    }
    for (char safe : new char[] {'\u2027', '\u202f', '\u2065', '\u206a', 'a', ' ', '\u00e9'}) {
      assertThat(CloudText.isUnsafe(safe)).as("U+%04x", (int) safe).isFalse();
    }
    assertThat(CloudText.escapeControls("a\u202eb\u2069c")).isEqualTo("a\\u202eb\\u2069c");
    assertThat(CloudText.escapeControls("x\ty\u0001")).isEqualTo("x\\ty\\u0001");
    assertThat(CloudText.escapeControls("plain")).isEqualTo("plain");
    assertThat(CloudText.escapeControls("\u001b[31mred")).as("an escape first of all").isEqualTo("\\u001b[31mred");
  }

  @Test
  void aSecretIsRememberedFromItsMinimumLengthAndNullIsIgnored() {
    CloudText text = CloudText.shapesOnly();
    assertThat(text.remember(null)).isSameAs(text);
    text.remember("abcdefgh").remember("abcdefg");

    String cleaned = text.clean("abcdefgh and abcdefg");

    assertThat(cleaned).doesNotContain("abcdefgh");
    assertThat(cleaned).contains("abcdefg").as("a secret too short to tell from words is not cut");
  }

  @Test
  void theLongerOfTwoOverlappingSecretsIsCutWholeAndTheLast32AreRemembered() {
    CloudText text = CloudText.shapesOnly().remember("abcdefghijkl").remember("abcdefgh"); // the shorter one last
    assertThat(text.clean("abcdefghijkl")).doesNotContain("ijkl");

    CloudText many = CloudText.shapesOnly();
    for (int i = 0; i < 32; i++) {
      many.remember(String.format("secret%04d", i));
    }
    assertThat(many.clean("secret0000 secret0031")).doesNotContain("secret0000").doesNotContain("secret0031");
    many.remember("secret0032");
    assertThat(many.clean("secret0000 secret0001")).as("the oldest is forgotten past 32").contains("secret0000")
      .doesNotContain("secret0001");
  }
}
