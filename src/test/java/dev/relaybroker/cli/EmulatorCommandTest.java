package dev.relaybroker.cli;

import dev.relaybroker.support.BrokerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code relay-broker emulator} as a user runs it. */
class EmulatorCommandTest {
  @TempDir
  Path tmp;

  @Test
  void aTakenPortIsNamedWithTheFlagThatChangesIt() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      BrokerProcess emulator = BrokerProcess.start(tmp, Map.of(), "emulator", "--port", String.valueOf(taken.getLocalPort()));

      assertThat(emulator.awaitExit()).isNotZero();
      assertThat(String.join("\n", emulator.stderr())).contains("127.0.0.1:" + taken.getLocalPort())
        .contains("address already in use").contains("--port");
    }
  }
}
