package dev.relaybroker.identity;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Names derived from a directory are stable and shell-friendly; explicit names are left to the caller (pure). */
class AgentNamesTest {
  @Test
  void sanitisingKeepsLettersDigitsDotUnderscoreAndDashAndFoldsEveryOtherRunIntoOneDash() {
    assertThat(AgentNames.sanitize("my project")).isEqualTo("my-project");
    assertThat(AgentNames.sanitize("a  //  b")).isEqualTo("a-b");
    assertThat(AgentNames.sanitize("a- b")).as("a kept dash then a space: one dash").isEqualTo("a-b");
    assertThat(AgentNames.sanitize("a-.b_c")).isEqualTo("a-.b_c");
    assertThat(AgentNames.sanitize("日本語 ü")).isEqualTo("日本語-ü");
    assertThat(AgentNames.sanitize("a😀b")).as("an emoji is a run of its own").isEqualTo("a-b");
  }

  @Test
  void leadingAndTrailingDashesAndDotsAreDroppedAndNothingLeftIsAgent() {
    assertThat(AgentNames.sanitize("..-.repo-..")).isEqualTo("repo");
    assertThat(AgentNames.sanitize(" repo ")).isEqualTo("repo");
    assertThat(AgentNames.sanitize("")).isEqualTo("agent");
    assertThat(AgentNames.sanitize("---")).isEqualTo("agent");
    assertThat(AgentNames.sanitize("/")).isEqualTo("agent");
  }

  @Test
  void derivedNamesAreCutTo64CodePointsWithoutATrailingDash() {
    assertThat(AgentNames.sanitize("a".repeat(64))).isEqualTo("a".repeat(64));
    assertThat(AgentNames.sanitize("a".repeat(65))).isEqualTo("a".repeat(64));
    assertThat(AgentNames.sanitize("a".repeat(63) + "-b")).isEqualTo("a".repeat(63));
    String wide = "日".repeat(70);
    assertThat(AgentNames.sanitize(wide)).isEqualTo("日".repeat(64));
    String astral = "\ud835\udc00".repeat(70); // a mathematical letter outside the BMP: two chars, one code point
    assertThat(AgentNames.sanitize(astral)).isEqualTo("\ud835\udc00".repeat(64));
  }

  @Test
  void aDirectoryGivesItsOwnName() {
    assertThat(AgentNames.fromDirectory(Path.of("/home/me/My Repo"))).isEqualTo("My-Repo");
    assertThat(AgentNames.fromDirectory(Path.of("/home/me/repo/sub/.."))).isEqualTo("repo");
    assertThat(AgentNames.fromDirectory(Path.of("/"))).isEqualTo("agent");
  }

  @Test
  void theRetryNameAddsEightRandomHexDigits() {
    String first = AgentNames.withSuffix("alpha");
    assertThat(first).matches("alpha-[0-9a-f]{8}");
    assertThat(AgentNames.withSuffix("alpha")).isNotEqualTo(first);
  }
}
