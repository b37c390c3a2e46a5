package dev.relaybroker.support;

import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.emulator.Engine;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A fresh emulator (current engine) on an ephemeral loopback port with one workspace, per test:
 * {@code @RegisterExtension final EmulatorWorkspace cloud = new EmulatorWorkspace();}, then {@code cloud.emulator()}
 * and {@code cloud.key()}. Brokers started through {@link #start} are stopped after the test (each checked by
 * {@link Machine#close()}), then the emulator is closed.
 */
public class EmulatorWorkspace implements BeforeEachCallback, AfterEachCallback {
  private EmulatorDriver emulator;
  private String key;
  private final List<Machine> machines = new ArrayList<>();

  @Override
  public void beforeEach(ExtensionContext context) {
    emulator = EmulatorDriver.start(Engine.CURRENT);
    key = emulator.createWorkspace();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    try {
      List<Machine> started = List.copyOf(machines);
      machines.clear();
      started.forEach(Machine::close);
    } finally {
      if (emulator != null) {
        emulator.close();
      }
    }
  }

  public EmulatorDriver emulator() {
    return emulator;
  }

  /** The workspace's key (rk_test_…). */
  public String key() {
    return key;
  }

  /** Options for a broker named {@code name} against this workspace, its state in {@code stateDir}. */
  public BrokerOptions options(String name, Path stateDir) {
    return Machine.options(emulator, key, name, stateDir);
  }

  /** Starts a broker, stopped after the test unless {@link #stop} stops it before. */
  public Machine start(BrokerOptions options) {
    Machine machine = Machine.start(options);
    machines.add(machine);
    return machine;
  }

  /** Stops a broker within the test (a restart, a second machine taking over). */
  public void stop(Machine machine) {
    machines.remove(machine);
    machine.close();
  }
}
