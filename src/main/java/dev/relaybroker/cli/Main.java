package dev.relaybroker.cli;

import dev.relaybroker.BrokerApplication;
import dev.relaybroker.files.StateDirLock;
import dev.relaybroker.files.StateDirMigration;
import dev.relaybroker.RelayBroker;
import dev.relaybroker.session.SessionSnapshot;
import dev.relaybroker.session.SessionState;
import dev.relaybroker.config.BrokerMode;
import dev.relaybroker.config.BrokerOptions;
import dev.relaybroker.config.ConfigInvalidException;
import dev.relaybroker.config.ConfigLoader;
import dev.relaybroker.emulator.EmulatorOptions;
import dev.relaybroker.emulator.EmulatorVerticle;
import dev.relaybroker.metrics.StartupTrace;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The process entry point: parse, load config, deploy, and map outcomes to exit codes (0 clean stop, 1 start
 * failure, 2 invalid configuration, 3 state dir held by another broker). stdout carries only the listening line
 * (and --help / --version); everything else goes to stderr through the logger.
 */
public final class Main {
  public static final int EXIT_START_FAILED = 1;
  public static final int EXIT_CONFIG_INVALID = 2;
  public static final int EXIT_ALREADY_RUNNING = 3;

  private Main() {
  }

  public static void main(String[] args) {
    try {
      run(args);
    } catch (RuntimeException | Error unexpected) {
      // A defect of ours must end the process with its reason, never leave it hanging on the Vert.x threads.
      Throwable cause = unexpected.getCause() != null ? unexpected.getCause() : unexpected;
      System.err.println("relay-broker: could not start: " + cause);
      Runtime.getRuntime().halt(EXIT_START_FAILED);
    }
  }

  private static void run(String[] args) {
    StartupTrace.mark("main");
    // Netty's allocator events would have JFR generate bytecode before the first buffer: the largest single cost
    // of a start-up (150–280 ms measured). A broker is not profiled through them; -Dio.netty.jfr.enabled=true restores.
    if (System.getProperty("io.netty.jfr.enabled") == null) {
      System.setProperty("io.netty.jfr.enabled", "false");
    }
    // Beside the main thread (two cores are the norm), which parses, makes the Vert.x and reads the config meanwhile.
    Thread nettyWarmUp = new Thread(() -> {
      warmUpNetty();
      StartupTrace.mark("netty warmed up");
    }, "relay-broker-warm-up");
    nettyWarmUp.start();
    // What SDKs spawn needs a Vert.x whatever the flags say: it is made beside the parse rather than after it (a
    // plain spawn's parse is quick, but one picocli reads loads its classes meanwhile). A start that turns out
    // invalid closes it again.
    java.util.concurrent.CompletableFuture<Vertx> vertxBeside = BrokerCommandLine.startsBroker(args)
      ? java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          Vertx made = Vertx.vertx(vertxOptions());
          StartupTrace.mark("vertx created");
          return made;
        }, task -> new Thread(task, "relay-broker-vertx").start())
      : null;
    BrokerCommandLine commandLine = BrokerCommandLine.parse(args);
    StartupTrace.mark("command line parsed");
    commandLine.warnings.forEach(warning -> System.err.println("relay-broker: warning: " + warning));
    BrokerCommandLine.Action command = commandLine.command;
    if (command == BrokerCommandLine.Action.NONE && commandLine.problems.isEmpty()) {
      System.err.println("relay-broker: no command given\n");
      System.err.print(commandLine.output);
      System.exit(EXIT_CONFIG_INVALID);
    }
    boolean startsBroker = command == BrokerCommandLine.Action.UP || command == BrokerCommandLine.Action.INIT;
    if (vertxBeside != null && !startsBroker) {
      vertxBeside.join().close();
    }
    if (!commandLine.problems.isEmpty() && !startsBroker) {
      exitWithProblems(commandLine.problems);
    }
    switch (command) {
      case HELP, VERSION, COMPLETION -> {
        System.out.print(commandLine.output);
        System.out.flush();
      }
      case EMULATOR -> runEmulator(commandLine);
      case SERVICE -> printService(commandLine);
      case CONFIG -> printConfig(commandLine);
      default -> runBroker(commandLine, vertxBeside != null ? vertxBeside.join() : Vertx.vertx(vertxOptions()), nettyWarmUp);
    }
  }

  /**
   * Netty 4.2's adaptive allocator initialises a JFR event class on its first allocation, and JFR generates
   * bytecode for it: about 100 ms, once per JVM. Done here on the main thread, it never stalls an event loop.
   */
  public static void warmUpNetty() {
    io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(1).release();
    io.netty.buffer.ByteBufAllocator.DEFAULT.heapBuffer(1).release();
  }

  static VertxOptions vertxOptions() {
    long blockedCheckMs = Long.getLong("relay.broker.blockedThreadCheckMs", 1000);
    // One event loop serves a broker; a small worker pool keeps the idle footprint small.
    return new VertxOptions()
      // The broker reads and writes plain paths only. Without classpath resolving, no file goes through Vert.x's
      // file resolver, whose own shutdown hook removes its cache dir while our stop may still write a file (seen:
      // the embedded emulator's last state write failing on Ctrl-C).
      .setFileSystemOptions(new io.vertx.core.file.FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false))
      // Vert.x and JVM metrics for /metrics. Not the HTTP server's: those would be counted on every local API
      // request, the hot path; the broker's own meters move only on cloud calls and snapshots. Decided before the
      // config is read (Vert.x Config needs the Vert.x), so it is a JVM flag: -Drelay.broker.vertxMetrics=false.
      .setMetricsOptions(new io.vertx.micrometer.MicrometerMetricsOptions()
        // The JVM's meters are bound later, on a worker (metrics.Meters): binding them here costs start-up.
        .setEnabled(Boolean.parseBoolean(System.getProperty("relay.broker.vertxMetrics", "true"))).setJvmMetricsEnabled(false)
        .setPrometheusOptions(new io.vertx.micrometer.VertxPrometheusOptions().setEnabled(true))
        .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.HTTP_SERVER))
      .setEventLoopPoolSize(1)
      .setWorkerPoolSize(2)
      .setInternalBlockingPoolSize(2)
      .setBlockedThreadCheckInterval(blockedCheckMs)
      .setMaxEventLoopExecuteTime(Math.max(blockedCheckMs, 100))
      .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS);
  }

  private static void runBroker(BrokerCommandLine commandLine, Vertx vertx, Thread nettyWarmUp) {
    BrokerOptions options;
    // Every problem at once: the command line's (an unknown flag) and the configuration's together.
    List<String> problems = new java.util.ArrayList<>(commandLine.problems);
    try {
      dev.relaybroker.config.ResolvedConfig resolved = await(ConfigLoader.resolve(vertx, configFile(commandLine),
        commandLine.configFile != null, ConfigLoader.processEnvironment(), commandLine.flags, commandLine.flagNames));
      options = resolved.options();
      resolved.ignored().forEach(note -> System.err.println("relay-broker: note: " + note));
    } catch (ConfigInvalidException invalid) {
      problems.addAll(invalid.problems());
      options = null;
    }
    StartupTrace.mark("config loaded");
    if (!problems.isEmpty()) {
      vertx.close();
      exitWithProblems(problems);
      return;
    }
    warnAbout(options);
    joinQuietly(nettyWarmUp);
    // The command line's defaults that an embedding application does not get: the emulator when no cloud is
    // configured (so a new user sees the whole flow), and the grace after a refusal for what an SDK spawned.
    options.setEmbeddedEmulator(true).setClientSpawned(commandLine.command == BrokerCommandLine.Action.INIT);
    BrokerApplication app;
    try {
      app = await(RelayBroker.deploy(vertx, options)).application();
    } catch (RuntimeException failure) {
      Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
      int code = exitCodeFor(cause);
      String kind = switch (code) {
        case EXIT_START_FAILED -> "could not start: ";
        case EXIT_CONFIG_INVALID -> ConfigInvalidException.CODE + ": ";
        default -> "";
      };
      System.err.println("relay-broker: " + kind + cause.getMessage());
      halt(vertx, code);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // Two waits from this thread, not vertx.close() composed on the stop: that would call it from a Vert.x
      // context, whose event loop the close shuts down before it can say it is done (every stop then waited out
      // its whole budget and said it was not clean).
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      try {
        app.stop().toCompletionStage().toCompletableFuture().get(8, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("relay-broker: the broker did not stop cleanly: " + e);
      }
      try {
        vertx.close().toCompletionStage().toCompletableFuture().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (Exception e) {
        System.err.println("relay-broker: shutdown was not clean: " + e);
      }
    }, "relay-broker-shutdown"));
    sayOnceWhenRefused(vertx, app);
    // /api/shutdown and the owner lease end the process through the same path as SIGTERM. System.exit runs on
    // its own thread: called from the event loop, it would wait for hooks that need that very event loop.
    vertx.eventBus().<String>consumer(app.bus().brokerShutdown(), message -> exitGracefully(message.body()));
    // A supervisor's SIGTERM or a Ctrl-C is a requested stop, not a crash: the same graceful path, exit 0.
    for (String signal : List.of("TERM", "INT")) {
      sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> exitGracefully("SIG" + signal));
    }
  }

  /** What a valid configuration may still do that a user should know of; said by up, init and config alike. */
  private static void warnAbout(BrokerOptions options) {
    if (options.getApi().isEnabled() && !options.getApi().isLoopbackBind()) {
      System.err.println("relay-broker: warning: the local API listens on " + options.getApi().getBind() + ", which other "
        + "machines can reach (--allow-non-loopback): whoever has its API key gets the session, the agent token included");
    }
  }

  /**
   * The exit code of a start that failed, and whether the message is the user's to act on: another broker holds the
   * state dir (3), the configuration cannot work as given (2), anything else could not start (1).
   */
  private static int exitCodeFor(Throwable cause) {
    if (cause instanceof StateDirLock.HeldElsewhere) {
      return EXIT_ALREADY_RUNNING;
    }
    if (cause instanceof StateDirMigration.Conflict || cause instanceof dev.relaybroker.files.StateDirUnsafe) {
      return EXIT_CONFIG_INVALID; // the message names the path, why it is refused and the fix
    }
    return EXIT_START_FAILED;
  }

  /**
   * A refusal would otherwise leave a terminal silent after the error line: say once what the broker does now
   * (serve the cause to clients) and how to go on. Said again only after the broker was ready in between.
   */
  private static void sayOnceWhenRefused(Vertx vertx, BrokerApplication app) {
    java.util.concurrent.atomic.AtomicBoolean said = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.function.Consumer<SessionSnapshot> onSnapshot = snapshot -> {
      if (snapshot.state() == SessionState.READY) {
        said.set(false);
      } else if (snapshot.state() == SessionState.FAILED && snapshot.failure() != null && said.compareAndSet(false, true)) {
        String next = app.options().getMode() == BrokerMode.EPHEMERAL || app.options().isClientSpawned()
          ? "it stops in " + app.options().getFailedGraceSecs() + " s unless a client renews its lease"
          : "fix the cause, then POST /api/session/refresh (or restart); stop it with Ctrl-C";
        // The cause itself is in the log line just above.
        String line = "relay-broker: the broker keeps running and answers every client with this cause (GET /api/session: 502) on "
          + "http://" + app.options().getApi().getBind() + ":" + app.apiPort() + "; " + next;
        vertx.executeBlocking(() -> {
          System.err.println(line);
          return null;
        });
      }
    };
    vertx.eventBus().<SessionSnapshot>localConsumer(app.bus().sessionSnapshot(), message -> onSnapshot.accept(message.body()));
    // A refusal that came before this consumer existed (a fast cloud) is said too.
    onSnapshot.accept(app.snapshot());
  }

  private static final java.util.concurrent.atomic.AtomicBoolean STOPPING = new java.util.concurrent.atomic.AtomicBoolean();

  private static void exitGracefully(String reason) {
    if (!STOPPING.compareAndSet(false, true)) {
      // A second SIGTERM or Ctrl-C while the graceful stop runs: the user wants out now.
      System.err.println("relay-broker: stopping at once (" + reason + " again)");
      Runtime.getRuntime().halt(0);
    }
    System.err.println("relay-broker: stopping (" + reason + ")");
    new Thread(() -> System.exit(0), "relay-broker-exit").start();
  }

  /**
   * {@code config}: the resolved configuration with each value's source, on stdout; contacts nothing and starts
   * nothing, so a user can see which cloud a key would go to.
   */
  private static void printConfig(BrokerCommandLine commandLine) {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    try {
      dev.relaybroker.config.ResolvedConfig resolved = await(ConfigLoader.resolve(vertx, configFile(commandLine),
        commandLine.configFile != null, ConfigLoader.processEnvironment(), commandLine.flags, commandLine.flagNames));
      warnAbout(resolved.options());
      System.out.println(resolved.describe().encodePrettily());
      System.out.flush();
      halt(vertx, 0);
    } catch (ConfigInvalidException invalid) {
      vertx.close();
      exitWithProblems(invalid.problems());
    }
  }

  /** {@code service --systemd | --launchd}: prints the definition on stdout, for a redirect into place. */
  private static void printService(BrokerCommandLine commandLine) {
    Path cwd = Path.of(System.getProperty("user.dir"));
    BrokerOptions options = new BrokerOptions(commandLine.flags.copy().put("cloud", new io.vertx.core.json.JsonObject()));
    String home = System.getProperty("relay.broker.home");
    String launcher = home != null ? Path.of(home, "scripts", "relay-broker").toAbsolutePath().toString() : "relay-broker";
    ServiceDefinition service = new ServiceDefinition(cwd, options.resolvedStateDir(), options.getName(), launcher);
    System.out.print("systemd".equals(commandLine.serviceKind) ? service.systemdUnit() : service.launchdPlist());
    System.out.flush();
  }

  private static void runEmulator(BrokerCommandLine commandLine) {
    Vertx vertx = Vertx.vertx(vertxOptions());
    EmulatorOptions options = new EmulatorOptions(commandLine.emulator);
    List<String> problems = options.validate();
    if (!problems.isEmpty()) {
      exitWithProblems(problems);
    }
    EmulatorVerticle emulator = new EmulatorVerticle(options, false);
    try {
      await(vertx.deployVerticle(emulator));
    } catch (RuntimeException e) {
      System.err.println("relay-broker: emulator could not start: " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
      halt(vertx, EXIT_START_FAILED);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }));
    // Like the broker: a SIGTERM or Ctrl-C is a requested stop, said once, exit 0 (not 143).
    for (String signal : List.of("TERM", "INT")) {
      sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> {
        System.err.println("relay-broker: emulator stopping (SIG" + signal + ")");
        new Thread(() -> System.exit(0), "relay-broker-exit").start();
      });
    }
    // Announced once the signal handlers are in place: whoever reads the line may stop us at once.
    System.out.println("Relaycast emulator (" + options.getEngine().wireName() + " engine) listening on " + emulator.baseUrl());
    System.out.flush();
  }

  private static String configFile(BrokerCommandLine commandLine) {
    if (commandLine.configFile != null) {
      return commandLine.configFile;
    }
    String home = System.getProperty("relay.broker.home");
    return (home != null ? Path.of(home, "conf", "config.json") : Path.of("conf", "config.json")).toString();
  }

  private static void joinQuietly(Thread thread) {
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime && !(e.getCause() instanceof IllegalStateException)) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    }
  }

  private static void exitWithProblems(List<String> problems) {
    System.err.println("relay-broker: " + ConfigInvalidException.CODE + ": the configuration has "
      + problems.size() + (problems.size() == 1 ? " problem:" : " problems:"));
    problems.forEach(p -> System.err.println("  - " + p));
    System.exit(EXIT_CONFIG_INVALID);
  }

  private static void halt(Vertx vertx, int code) {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // exiting anyway
    }
    System.exit(code);
  }
}
