package dev.relaybroker.cli;

import dev.relaybroker.support.BrokerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code relay-broker service}: what a user redirects into place to run the broker as a service. */
class ServiceTest {
  private static final String KEY = "rk_live_" + "5ec2e7".repeat(6);

  @TempDir
  Path cwd;

  /** The command as the launcher runs it: relay.broker.home set, so the unit names the real launcher. */
  private BrokerProcess service(String... args) {
    List<String> command = new ArrayList<>(BrokerProcess.command(args));
    command.add(1, "-Drelay.broker.home=" + Path.of("").toAbsolutePath());
    return BrokerProcess.exec(cwd, Map.of("RELAY_API_KEY", KEY, "RELAY_BROKER_API_KEY", "br_" + "1".repeat(32)), command);
  }

  @Test
  void theSystemdUnitParsesRestartsOnFailureAndHoldsNoSecret() throws Exception {
    BrokerProcess process = service("service", "--systemd", "--name", "alpha");
    assertThat(process.awaitExit()).isZero();
    String unit = String.join("\n", process.stdout());

    assertThat(unit).contains("WorkingDirectory=" + cwd.toAbsolutePath())
      .contains("Environment=AGENT_RELAY_STATE_DIR=" + cwd.resolve(".agentworkforce/relay").toAbsolutePath())
      .contains("EnvironmentFile=" + cwd.resolve(".agentworkforce/relay/broker.env").toAbsolutePath())
      .contains("ExecStart=" + Path.of("scripts/relay-broker").toAbsolutePath() + " up --name alpha")
      .contains("Restart=on-failure")
      .doesNotContain(KEY).doesNotContain("br_1111").doesNotContain("rk_live_");
    Path file = cwd.resolve("relay-broker-alpha.service");
    Files.writeString(file, unit + "\n");
    Path analyze = Path.of("/usr/bin/systemd-analyze");
    if (Files.isExecutable(analyze)) {
      Process verify = new ProcessBuilder(analyze.toString(), "verify", file.toString()).redirectErrorStream(true).start();
      String said = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(verify.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(verify.exitValue()).as("systemd-analyze verify: %s", said).isZero();
      assertThat(said).as("systemd-analyze verify").doesNotContainIgnoringCase("unknown").doesNotContainIgnoringCase("invalid");
    } else {
      // Structural check: every line is a comment, a section header, blank, or key=value in a known section.
      assertThat(unit.lines()).allMatch(l -> l.isBlank() || l.startsWith("#") || l.matches("\\[(Unit|Service|Install)]") || l.matches("[A-Za-z]+=.*"));
    }
  }

  @Test
  void theLaunchdPlistIsWellFormedXmlAndHoldsNoSecret() throws Exception {
    BrokerProcess process = service("service", "--launchd", "--name", "my app");
    assertThat(process.awaitExit()).isZero();
    String plist = String.join("\n", process.stdout());

    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
    var document = factory.newDocumentBuilder().parse(new ByteArrayInputStream(plist.getBytes(StandardCharsets.UTF_8)));
    assertThat(document.getDocumentElement().getNodeName()).isEqualTo("plist");
    assertThat(plist).contains("<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>")
      .contains("relay-broker-my-app").contains("up --name 'my app'").contains("broker.env")
      .doesNotContain(KEY).doesNotContain("rk_live_");
  }

  @Test
  void serviceWithoutAKindSaysWhichToPick() {
    BrokerProcess process = service("service");

    assertThat(process.awaitExit()).isEqualTo(2);
    assertThat(String.join("\n", process.stderr())).contains("service needs --systemd or --launchd");
  }
}
