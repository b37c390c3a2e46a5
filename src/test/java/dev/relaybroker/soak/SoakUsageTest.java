package dev.relaybroker.soak;

import dev.relaybroker.support.BrokerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 25: {@code scripts/soak --help} started a 10-minute soak instead of printing its usage. */
class SoakUsageTest {
  @TempDir
  Path cwd;

  private static List<String> soak(String... args) {
    List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-cp", System.getProperty("java.class.path"), SoakMain.class.getName()));
    command.addAll(List.of(args));
    return command;
  }

  @Test
  void helpPrintsTheUsageAndStartsNoSoak() {
    try (BrokerProcess help = BrokerProcess.exec(cwd, Map.of(), soak("--help"));
         BrokerProcess typo = BrokerProcess.exec(cwd, Map.of(), soak("--minuts", "7"))) {
      assertThat(help.awaitExit()).isZero();
      assertThat(String.join("\n", help.stdout())).contains("Usage: scripts/soak").contains("--minutes=N").contains("--seed=S");
      assertThat(typo.awaitExit()).isEqualTo(2);
      assertThat(String.join("\n", typo.stderr())).contains("--minuts");
      assertThat(cwd.resolve("target/soak")).as("no soak started").doesNotExist();
    }
  }
}
