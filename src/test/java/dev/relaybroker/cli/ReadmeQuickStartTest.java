package dev.relaybroker.cli;

import dev.relaybroker.support.BrokerProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's TypeScript quick start, run exactly as a user pastes it: the code block between its quickstart
 * markers, saved as {@code quickstart.mjs} in a fresh project, {@code node quickstart.mjs}, with {@code RELAY_BROKER}
 * set as the README's previous step sets it. No workspace key: the broker runs on its embedded emulator.
 */
class ReadmeQuickStartTest {
  private static final Pattern QUICK_START =
    Pattern.compile("<!-- quickstart:start -->\\s*```js\\n(.*?)```\\s*<!-- quickstart:end -->", Pattern.DOTALL);

  @TempDir
  Path project;

  @BeforeAll
  static void installTheClients() throws Exception {
    RealClientsTest.installTheClients();
  }

  @Test
  void theQuickStartRunsAsPasted() throws Exception {
    Matcher block = QUICK_START.matcher(Files.readString(Path.of("README.md")));
    assertThat(block.find()).as("the README has its quick start between the markers").isTrue();
    Files.writeString(project.resolve("quickstart.mjs"), block.group(1));
    // What `npm install @agent-relay/harness-driver` gives the project, from the suite's own install.
    Files.createSymbolicLink(project.resolve("node_modules"), RealClientsTest.MODULES_ROOT.resolve("node_modules"));
    Path launcher = BrokerProcess.writeLauncher(Files.createDirectories(project.resolveSibling(project.getFileName() + "-bin")));

    ProcessBuilder node = new ProcessBuilder("node", "quickstart.mjs").directory(project.toFile()).redirectErrorStream(true);
    node.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("AGENT_RELAY_"));
    node.environment().put("RELAY_BROKER", launcher.toString());
    Process run = node.start();
    String output = new String(run.getInputStream().readAllBytes());

    assertThat(run.waitFor(90, TimeUnit.SECONDS)).isTrue();
    assertThat(run.exitValue()).as(output).isZero();
    assertThat(output).containsPattern("agent " + Pattern.quote(project.getFileName().toString()) + " \\(agt_[0-9a-zA-Z_]+\\) is ready");
    assertThat(project.resolve(".agentworkforce/relay/connection.json")).as("shutdown() removed the broker's files").doesNotExist();
  }
}
