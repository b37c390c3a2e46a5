package dev.relaybroker.support;

import dev.relaybroker.emulator.Engine;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fresh emulator (current engine) on an ephemeral loopback port with one workspace, per test:
 * {@code @RegisterExtension final EmulatorWorkspace cloud = new EmulatorWorkspace();}, then {@code cloud.emulator()}
 * and {@code cloud.key()}. Closed after each test.
 */
public class EmulatorWorkspace implements BeforeEachCallback, AfterEachCallback {
  private EmulatorDriver emulator;
  private String key;

  @Override
  public void beforeEach(ExtensionContext context) {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    key = emulator.createWorkspace();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (emulator != null) {
      emulator.close();
    }
  }

  public EmulatorDriver emulator() {
    return emulator;
  }

  /** The workspace's key (rk_test_…). */
  public String key() {
    return key;
  }
}
