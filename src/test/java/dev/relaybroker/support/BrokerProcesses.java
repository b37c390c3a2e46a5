package dev.relaybroker.support;

import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@link EmulatorWorkspace} plus the broker processes a test starts, stopped after it (SIGTERM, then SIGKILL), and a
 * web client on the emulator's Vert.x for the local API:
 * {@code @RegisterExtension final BrokerProcesses brokers = new BrokerProcesses();}.
 */
public final class BrokerProcesses extends EmulatorWorkspace {
  private final List<BrokerProcess> processes = new ArrayList<>();
  private WebClient web;

  @Override
  public void beforeEach(ExtensionContext context) {
    super.beforeEach(context);
    web = WebClient.create(emulator().vertx());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    processes.forEach(BrokerProcess::close);
    processes.clear();
    if (web != null) {
      web.close();
    }
    super.afterEach(context);
  }

  /** {@code relay-broker args…} in {@code cwd}, with only {@code environment} of the broker's variables set. */
  public BrokerProcess start(Path cwd, Map<String, String> environment, String... args) {
    BrokerProcess process = BrokerProcess.start(cwd, environment, args);
    processes.add(process);
    return process;
  }

  /** Any command (a script, another JVM), stopped after the test like the brokers. */
  public BrokerProcess exec(Path cwd, Map<String, String> environment, List<String> command) {
    BrokerProcess process = BrokerProcess.exec(cwd, environment, command);
    processes.add(process);
    return process;
  }

  /** A process started elsewhere (the Rust broker's fixture), stopped after the test like the brokers. */
  public BrokerProcess adopt(BrokerProcess process) {
    processes.add(process);
    return process;
  }

  public WebClient web() {
    return web;
  }

  /** The process's stderr as one text. */
  public static String stderr(BrokerProcess process) {
    return String.join("\n", process.stderr());
  }
}
