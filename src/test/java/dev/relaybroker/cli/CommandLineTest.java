package dev.relaybroker.cli;

import dev.relaybroker.support.Await;
import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.BrokerProcesses;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static dev.relaybroker.support.BrokerProcesses.stderr;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command line as a user meets it, in real processes: generated help, a typo's suggestion, completion, and the
 * ways a workspace key reaches the broker without showing itself to other local users.
 */
class CommandLineTest {
  @RegisterExtension
  final BrokerProcesses brokers = new BrokerProcesses();

  @TempDir
  Path cwd;

  private BrokerProcess run(Map<String, String> environment, String... args) {
    return brokers.start(cwd, environment, args);
  }

  private Path keyFile(String permissions) throws Exception {
    Path file = cwd.resolve("workspace.key");
    Files.writeString(file, brokers.key() + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
    return file;
  }

  // Help, typos, completion.

  @Test
  void helpUpPrintsTheGeneratedUsageOfUpAndExitsZero() {
    BrokerProcess help = run(Map.of(), "help", "up");

    assertThat(help.awaitExit()).isZero();
    assertThat(String.join("\n", help.stdout())).contains("Usage: relay-broker up").contains("--workspace-key-file")
      .contains("--reclaim=own|offline|always").contains("--allow-insecure-cloud");
  }

  @Test
  void aMistypedFlagNamesTheFlagItMeantAndNeverEchoesItsValue() {
    BrokerProcess broker = run(Map.of(), "up", "--worksapce-key", "rk_live_00112233445566778899", "--name", "x");

    assertThat(broker.awaitExit()).isEqualTo(2);
    assertThat(stderr(broker)).contains("unknown flag '--worksapce-key'").contains("did you mean --workspace-key")
      .doesNotContain("00112233445566778899");
    assertThat(broker.stdout()).isEmpty();
  }

  @Test
  void completionBashPrintsACompletionScriptForEveryCommandAndFlag() {
    BrokerProcess completion = run(Map.of(), "completion", "bash");

    assertThat(completion.awaitExit()).isZero();
    String script = String.join("\n", completion.stdout());
    assertThat(script).startsWith("#!/usr/bin/env bash").contains("complete -F").contains("--workspace-key-file")
      .contains("emulator").contains("--state-file");
  }

  // Issue 25: an empty name was silently replaced by the folder's.

  @Test
  void anEmptyNameIsRefusedInsteadOfFallingBackToTheFolderName() {
    BrokerProcess config = run(Map.of(), "config", "--name", "");

    assertThat(config.awaitExit()).isEqualTo(2);
    assertThat(stderr(config)).contains("--name is empty");
    assertThat(config.stdout()).isEmpty();
  }

  // Issue 22: the key out of the process table.

  @Test
  void aKeyFileOnlyTheUserCanReadStartsTheBrokerAndTheKeyIsNeverPrinted() throws Exception {
    Path file = keyFile("rw-------");
    BrokerProcess broker = run(Map.of(), "up", "--name", "keyfile", "--base-url", brokers.emulator().baseUrl(),
      "--workspace-key-file", file.toString());

    Await.until("ready or exited", () -> stderr(broker).contains("Session ready") || !broker.isAlive());
    assertThat(broker.isAlive()).as(stderr(broker)).isTrue();
    assertThat(stderr(broker)).contains("workspace key: --workspace-key-file " + file).doesNotContain(brokers.key())
      .doesNotContain("warning");
    assertThat(brokers.emulator().agent(brokers.key(), "keyfile")).isNotNull();
  }

  @Test
  void aKeyFileOthersCanReadOrALinkIsRefusedWithExitTwoAndTheFix() throws Exception {
    Path loose = keyFile("rw-r--r--");
    BrokerProcess looseRun = run(Map.of(), "config", "--workspace-key-file", loose.toString());
    assertThat(looseRun.awaitExit()).isEqualTo(2);
    assertThat(stderr(looseRun)).contains("--workspace-key-file " + loose).contains("chmod 600")
      .doesNotContain(brokers.key());

    Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rw-------"));
    Path link = Files.createSymbolicLink(cwd.resolve("link.key"), loose);
    BrokerProcess linkRun = run(Map.of(), "config", "--workspace-key-file", link.toString());
    assertThat(linkRun.awaitExit()).isEqualTo(2);
    assertThat(stderr(linkRun)).contains("is a symbolic link").doesNotContain(brokers.key());

    BrokerProcess missing = run(Map.of(), "config", "--workspace-key-file", cwd.resolve("absent.key").toString());
    assertThat(missing.awaitExit()).isEqualTo(2);
    assertThat(stderr(missing)).contains("no such file");
  }

  @Test
  void aKeyOnTheCommandLineStillWorksButWarnsThatPsShowsIt() {
    BrokerProcess config = run(Map.of(), "config", "--workspace-key", brokers.key(), "--base-url", brokers.emulator().baseUrl());

    assertThat(config.awaitExit()).isZero();
    assertThat(stderr(config)).contains("warning: --workspace-key").contains("every local user")
      .contains("RELAY_API_KEY").contains("--workspace-key-file").doesNotContain(brokers.key());
    JsonObject printed = new JsonObject(String.join("\n", config.stdout()));
    assertThat(printed.getJsonObject("cloud").getJsonObject("workspaceKey").getString("source")).isEqualTo("--workspace-key");
  }

  @Test
  void aKeyForPlainHttpToAnotherHostIsRefusedUnlessAllowedAndLoopbackHttpStaysAllowed() {
    // Nothing is contacted: the refusal comes before any connection, and the allowed case only prints its config.
    Map<String, String> environment = Map.of("RELAY_API_KEY", brokers.key(), "RELAY_BASE_URL", "http://relay.invalid");
    BrokerProcess refused = run(environment, "up", "--name", "x");
    BrokerProcess allowed = run(environment, "config", "--allow-insecure-cloud");
    BrokerProcess loopback = run(Map.of("RELAY_API_KEY", brokers.key(), "RELAY_BASE_URL", "http://127.0.0.1:9"), "config");

    assertThat(refused.awaitExit()).isEqualTo(2);
    assertThat(stderr(refused)).contains("plain http://").contains("--allow-insecure-cloud").doesNotContain(brokers.key());
    assertThat(refused.stdout()).isEmpty();
    assertThat(allowed.awaitExit()).as(stderr(allowed)).isZero();
    assertThat(loopback.awaitExit()).as(stderr(loopback)).isZero();
  }

  @Test
  void aNonLoopbackBindIsSaidAsAWarning() {
    BrokerProcess config = run(Map.of(), "config", "--api-bind", "0.0.0.0", "--allow-non-loopback");

    assertThat(config.awaitExit()).isZero();
    assertThat(stderr(config)).contains("warning: the local API listens on 0.0.0.0");
  }
}
