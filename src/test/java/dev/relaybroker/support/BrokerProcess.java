package dev.relaybroker.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A child process with its stdout and stderr collected line by line: relay-broker started the way the launcher
 * starts it (the test classpath stands in for the fat jar), or any command the benchmarks run.
 */
public final class BrokerProcess implements AutoCloseable {
  private final Process process;
  private final List<String> stdout = Collections.synchronizedList(new ArrayList<>());
  private final List<String> stderr = Collections.synchronizedList(new ArrayList<>());
  private final Thread stdoutReader;
  private final Thread stderrReader;

  private BrokerProcess(Process process) {
    this.process = process;
    stdoutReader = drain(process.getInputStream(), stdout);
    stderrReader = drain(process.getErrorStream(), stderr);
  }

  public static List<String> command(String... args) {
    List<String> command = new ArrayList<>(List.of(
      Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-cp", System.getProperty("java.class.path"),
      // The production logging setup (cli.BrokerLogging), not the test one that happens to be on this classpath.
      "-Drelay.broker.logging=builtin",
      "dev.relaybroker.cli.Main"));
    command.addAll(List.of(args));
    return command;
  }

  public static BrokerProcess start(Path cwd, Map<String, String> environment, String... args) {
    return exec(cwd, environment, command(args));
  }

  /** Any command, in {@code cwd}, with the broker's environment variables cleared and {@code environment} set. */
  public static BrokerProcess exec(Path cwd, Map<String, String> environment, List<String> command) {
    ProcessBuilder builder = new ProcessBuilder(command).directory(cwd.toFile());
    builder.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("AGENT_RELAY_"));
    builder.environment().putAll(environment);
    try {
      return new BrokerProcess(builder.start());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A shell script an SDK can spawn as its broker binary. */
  public static Path writeLauncher(Path dir) throws IOException {
    StringBuilder script = new StringBuilder("#!/bin/sh\nexec");
    for (String part : command()) {
      script.append(" '").append(part.replace("'", "'\\''")).append("'");
    }
    script.append(" \"$@\"\n");
    Path launcher = dir.resolve("relay-broker");
    Files.writeString(launcher, script);
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwx------"));
    return launcher;
  }

  private static Thread drain(InputStream stream, List<String> into) {
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          synchronized (into) {
            into.add(line);
            into.notifyAll();
          }
        }
      } catch (IOException ignored) {
        // the process went away
      }
    });
    reader.setDaemon(true);
    reader.start();
    return reader;
  }

  public List<String> stdout() {
    synchronized (stdout) {
      return new ArrayList<>(stdout);
    }
  }

  /**
   * Waits for the first stdout line that matches, woken by each new line (timings taken around it stay exact).
   * Fails when the process ends, or stays silent for 30 s, without one.
   */
  public String awaitLine(Predicate<String> wanted) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    synchronized (stdout) {
      while (true) {
        for (String line : stdout) {
          if (wanted.test(line)) {
            return line;
          }
        }
        long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (leftMs <= 0 || (!process.isAlive() && !stdoutReader.isAlive())) {
          throw new AssertionError("no expected line on stdout (alive: " + process.isAlive() + "); stdout " + stdout);
        }
        try {
          stdout.wait(Math.min(leftMs, 100));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  public List<String> stderr() {
    synchronized (stderr) {
      return new ArrayList<>(stderr);
    }
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Waits for the exit and returns its code. */
  public int awaitExit() {
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        throw new AssertionError("process still running after 30 s; stderr: " + stderr());
      }
      // The readers end at EOF, after the last line.
      stdoutReader.join(5000);
      stderrReader.join(5000);
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** SIGTERM. Through the handle: Process.destroy() would also close our ends of its pipes, losing its last lines. */
  public void terminate() {
    process.toHandle().destroy();
  }

  /** SIGKILL: no shutdown hook runs. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGTERM, so the process stops gracefully (and the launcher writes its AppCDS archive); SIGKILL after 15 s. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    terminate();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        kill();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      kill();
    }
  }
}
