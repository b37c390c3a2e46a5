package dev.relaybroker.cli;

import dev.relaybroker.BrokerVersion;
import dev.relaybroker.config.CloudOptions;
import dev.relaybroker.config.ReclaimPolicy;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The command line of SPEC §5, parsed by picocli: what was asked ({@link #command}), plus a config-shaped
 * {@link JsonObject} of the flags (the highest-precedence layer of the config). picocli types the options, writes
 * each command's help, suggests the flag a typo meant and generates the shell completion; the problems it finds
 * are collected, not thrown, so one run reports them beside the configuration's own.
 */
public final class BrokerCommandLine {
  /** {@code NONE}: no command was given; the usage is printed as an error. */
  public enum Action { UP, INIT, CONFIG, EMULATOR, SERVICE, COMPLETION, VERSION, HELP, NONE }

  /** Wide enough for a flag and its description on one line; a terminal of 80 columns still reads it. */
  static final int USAGE_WIDTH = 110;
  private static final Set<String> HELP_FLAGS = Set.of("-h", "--help", "-V", "--version");
  /** The flags that hold a secret: an unknown flag's value next to one of these is never echoed. */
  private static final Set<String> SECRET_SHAPES = Set.of("rk_", "at_", "br_");

  public final Action command;
  public final JsonObject flags;
  /** The flag that set each config path ({@code cloud.baseUrl} → {@code --base-url}), to say where a value came from. */
  public final Map<String, String> flagNames;
  public final String configFile;
  public final JsonObject emulator;
  /** {@code systemd} or {@code launchd} for {@code service}; else null. */
  public final String serviceKind;
  public final List<String> problems;
  /** Said on stderr, and the command goes on (a key in the process table). */
  public final List<String> warnings;
  /** What help, version and completion print on stdout; null for the other commands. */
  public final String output;

  private BrokerCommandLine(Action command, Parsed parsed, String output) {
    this.command = command;
    this.flags = parsed.flags;
    this.flagNames = Map.copyOf(parsed.flagNames);
    this.configFile = parsed.configFile;
    this.emulator = parsed.emulator;
    this.serviceKind = parsed.serviceKind;
    this.problems = List.copyOf(parsed.problems);
    this.warnings = List.copyOf(parsed.warnings);
    this.output = output;
  }

  public static BrokerCommandLine parse(String... args) {
    if (args.length == 0) {
      // Bare `relay-broker` prints the usage instead of starting a broker nobody asked for.
      return new BrokerCommandLine(Action.NONE, new Parsed(), usage());
    }
    List<String> arguments = new ArrayList<>(Arrays.asList(args));
    if (arguments.get(0).startsWith("-") && !HELP_FLAGS.contains(arguments.get(0))) {
      arguments.add(0, "up"); // flags without a command have always meant `up`
    }
    // What SDKs spawn, well formed, is read without picocli (see PlainSpawn); anything else goes to picocli.
    BrokerCommandLine plain = PlainSpawn.parse(arguments);
    return plain != null ? plain : ByPicocli.parse(arguments);
  }

  /** up or init, parsed by picocli or by PlainSpawn: what the command adds to its flags. */
  private static BrokerCommandLine spawned(Object chosen, Parsed parsed) {
    if (chosen instanceof Init init) {
      init.flags.addTo(parsed);
      if (parsed.flags.getValue("name") == null && init.flags.name == null && init.flags.instanceName == null) {
        parsed.problems.add("init needs --name N (or --instance-name N): it is what SDKs spawn, and they always name the agent");
      }
      parsed.flags.put("mode", init.persist ? "persist" : "ephemeral");
      return new BrokerCommandLine(Action.INIT, parsed, null);
    }
    ((Up) chosen).flags.addTo(parsed);
    parsed.flags.put("mode", "persist");
    return new BrokerCommandLine(Action.UP, parsed, null);
  }

  /**
   * Whether these arguments start a broker ({@code up}, {@code init}, or flags alone), told without picocli so that
   * the caller can make the broker's Vert.x while picocli parses. A wrong guess costs a Vert.x made and closed.
   */
  public static boolean startsBroker(String... args) {
    if (args.length == 0 || Arrays.stream(args).anyMatch(HELP_FLAGS::contains)) {
      return false;
    }
    return args[0].equals("up") || args[0].equals("init") || args[0].startsWith("-");
  }

  /** The whole usage (bare {@code relay-broker}, {@code --help}). */
  public static String usage() {
    return ByPicocli.commands().getUsageMessage(CommandLine.Help.Ansi.OFF);
  }

  /** The usage of one command ({@code up --help}, {@code help up}). */
  public static String usage(String command) {
    return ByPicocli.commands().getSubcommands().get(command).getUsageMessage(CommandLine.Help.Ansi.OFF);
  }

  private static String redact(String text) {
    String redacted = text;
    for (String shape : SECRET_SHAPES) {
      redacted = redacted.replaceAll(shape + "[A-Za-z0-9_\\-]+", shape + "****");
    }
    return redacted;
  }

  /**
   * Everything that touches picocli, in a class of its own: the JVM verifies a class as it loads it and loads the
   * exception classes its catch clauses name, so picocli code in BrokerCommandLine itself would load picocli's
   * exceptions on PlainSpawn's way as well.
   */
  static final class ByPicocli {
    /** The whole command line through picocli: help, the other commands, and every up or init PlainSpawn left to it. */
    static BrokerCommandLine parse(List<String> arguments) {
      Parsed parsed = new Parsed();
      // An up or init PlainSpawn left here (a typo, say) parses with that one command's model: picocli reads the
      // annotations of one class instead of eight, and loads none of its help machinery. Help and every other command
      // get the whole model.
      Object spawned = HELP_FLAGS.stream().anyMatch(arguments::contains) ? null : switch (arguments.get(0)) {
        case "up" -> new Up();
        case "init" -> new Init();
        default -> null;
      };
      CommandLine commandLine = spawned != null ? collectErrors(new CommandLine(spawned)) : commands();
      StringWriter printed = new StringWriter();
      commandLine.setOut(new PrintWriter(printed));
      ParseResult result;
      try {
        result = commandLine.parseArgs((spawned != null ? arguments.subList(1, arguments.size()) : arguments).toArray(String[]::new));
      } catch (ParameterException unexpected) {
        // Errors are collected (see commands()); this is what picocli still throws, e.g. on an unknown command.
        parsed.problems.addAll(describe(unexpected, arguments));
        return new BrokerCommandLine(Action.NONE, parsed, null);
      }
      for (Exception error : allErrors(result)) {
        parsed.problems.addAll(error instanceof ParameterException p ? describe(p, arguments) : List.of(error.getMessage()));
      }
      Integer helped = spawned != null ? null : CommandLine.executeHelpRequest(result);
      if (helped != null) {
        commandLine.getOut().flush();
        boolean version = result.isVersionHelpRequested();
        return new BrokerCommandLine(version ? Action.VERSION : Action.HELP, parsed, printed.toString());
      }
      ParseResult leaf = result;
      while (leaf.hasSubcommand()) {
        leaf = leaf.subcommand();
      }
      Object chosen = leaf.commandSpec().userObject();
      Action command;
      String output = null;
      if (chosen instanceof Up || chosen instanceof Init) {
        return spawned(chosen, parsed);
      } else if (chosen instanceof ConfigCommand config) {
        command = Action.CONFIG;
        config.flags.addTo(parsed);
      } else if (chosen instanceof Emulator emulator) {
        command = Action.EMULATOR;
        emulator.addTo(parsed);
      } else if (chosen instanceof Service service) {
        command = Action.SERVICE;
        service.addTo(parsed);
        parsed.flags.put("mode", "persist");
      } else if (chosen instanceof Completion completion) {
        command = Action.COMPLETION;
        if (!completion.shell.equals("bash") && !completion.shell.equals("zsh")) {
          parsed.problems.add("completion knows bash and zsh (zsh through bashcompinit), got '" + completion.shell + "'");
        }
        output = AutoComplete.bash("relay-broker", commands());
      } else if (chosen instanceof VersionCommand) {
        command = Action.VERSION;
        output = BrokerVersion.NAME + " " + BrokerVersion.VERSION + "\n";
      } else {
        // `relay-broker` with only problems (an unknown command): the problems say what is wrong.
        command = Action.NONE;
        output = usage();
      }
      return new BrokerCommandLine(command, parsed, output);
    }

    private static CommandLine commands() {
      return collectErrors(new CommandLine(new RelayBroker())
        .setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF)));
    }

    /** Every problem of a run, not only the first: picocli then lists them in the parse result instead of throwing. */
    private static CommandLine collectErrors(CommandLine commandLine) {
      commandLine.getCommandSpec().parser().collectErrors(true);
      commandLine.getSubcommands().values().forEach(ByPicocli::collectErrors);
      return commandLine;
    }

    private static List<Exception> allErrors(ParseResult result) {
      List<Exception> errors = new ArrayList<>(result.errors());
      if (result.hasSubcommand()) {
        errors.addAll(allErrors(result.subcommand()));
      }
      return errors;
    }

    /** picocli's message, in the broker's words where a flag was mistyped, and never with a secret in it. */
    private static List<String> describe(ParameterException error, List<String> arguments) {
      if (error instanceof UnmatchedArgumentException unmatched) {
        List<String> parts = new ArrayList<>();
        List<String> unknown = unmatched.getUnmatched();
        for (int i = 0; i < unknown.size(); i++) {
          String arg = unknown.get(i);
          if (arg.startsWith("-")) {
            String flag = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
            List<String> suggestions = unmatched.getSuggestions().stream().filter(s -> s.startsWith("-")).toList();
            parts.add("unknown flag '" + flag + "'" + (suggestions.isEmpty() ? " (see --help)"
              : " (did you mean " + String.join(" or ", suggestions) + "?)"));
            if (!arg.contains("=") && i + 1 < unknown.size() && !unknown.get(i + 1).startsWith("-")) {
              i++; // most likely the unknown flag's value (maybe a key): not a problem of its own, and never echoed
            }
          } else if (unmatched.getCommandLine().getCommandSpec().name().equals("relay-broker") && arguments.indexOf(arg) == 0) {
            // What follows an unknown command cannot be judged: its flags may be that command's.
            return List.of("unknown command '" + arg + "' (commands: " + String.join(", ", commandNames()) + ")");
          } else {
            parts.add("unexpected argument '" + redact(arg) + "' (see --help)");
          }
        }
        return parts;
      }
      return List.of(redact(error.getMessage()));
    }

    private static List<String> commandNames() {
      return List.of("up", "init", "config", "emulator", "service", "completion", "help", "version");
    }
  }

  /**
   * up and init as SDKs spawn them, read without picocli: every argument a flag of that command, given once, as
   * {@code --flag value} or {@code --flag=value}, whose value converts. That is all an SDK ever passes, and it then
   * costs no picocli class at all. picocli's classes are class-file version 49 (Java 5), which the JDK's start-up
   * archive (AOT cache, CDS) never stores once linked: each start would load, parse and verify about 170 of them from
   * the jar and keep them in metaspace, 2 MB of idle RSS for a parse the broker does once (issue 24). Whatever this
   * does not read plainly (an unknown or repeated flag, a positional, a missing or unconvertible value, an @file,
   * {@code --}) is handed to picocli whole, so problems, suggestions and help stay picocli's own.
   * CommandLineModelTest holds the flags here to picocli's model of up and init, and the results to picocli's.
   */
  static final class PlainSpawn {
    /** The flags of up and init that take no value; every other flag of theirs takes exactly one. */
    static final Set<String> SWITCHES = Set.of("--allow-insecure-cloud", "--allow-non-loopback", "--persist");

    /** The command line, or null when picocli has to read it. */
    static BrokerCommandLine parse(List<String> arguments) {
      Object chosen = switch (arguments.get(0)) {
        case "up" -> new Up();
        case "init" -> new Init();
        default -> null;
      };
      if (chosen == null) {
        return null;
      }
      BrokerFlags flags = chosen instanceof Up up ? up.flags : ((Init) chosen).flags;
      Set<String> seen = new java.util.HashSet<>();
      for (int i = 1; i < arguments.size(); i++) {
        String arg = arguments.get(i);
        int equals = arg.indexOf('=');
        String flag = equals < 0 ? arg : arg.substring(0, equals);
        if (!arg.startsWith("--") || flag.equals("--") || !seen.add(flag)) {
          return null;
        }
        if (SWITCHES.contains(flag)) {
          if (equals >= 0) {
            return null;
          } else if (flag.equals("--persist")) {
            if (!(chosen instanceof Init init)) {
              return null;
            }
            init.persist = true;
          } else if (!flags.set(flag, null)) {
            return null;
          }
          continue;
        }
        String value = equals >= 0 ? arg.substring(equals + 1) : i + 1 < arguments.size() ? arguments.get(++i) : null;
        // A value that looks like a flag or an @file is picocli's to judge.
        if (value == null || value.startsWith("-") || value.startsWith("@") || !flags.set(flag, value)) {
          return null;
        }
      }
      return spawned(chosen, new Parsed());
    }
  }

  /** What the chosen command adds to the result. */
  private static final class Parsed {
    final JsonObject flags = new JsonObject();
    final Map<String, String> flagNames = new HashMap<>();
    final JsonObject emulator = new JsonObject();
    final List<String> problems = new ArrayList<>();
    final List<String> warnings = new ArrayList<>();
    String configFile;
    String serviceKind;

    void put(String path, String flag, Object value) {
      if (value == null) {
        return;
      }
      String[] parts = path.split("\\.");
      JsonObject holder = flags;
      for (int i = 0; i < parts.length - 1; i++) {
        if (holder.getJsonObject(parts[i]) == null) {
          holder.put(parts[i], new JsonObject());
        }
        holder = holder.getJsonObject(parts[i]);
      }
      holder.put(parts[parts.length - 1], value);
      flagNames.put(path, flag);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The commands, as picocli reads them. Help text is generated from these declarations.
  // ---------------------------------------------------------------------------------------------------------------

  @Command(name = "relay-broker", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpWidth = USAGE_WIDTH,
    synopsisSubcommandLabel = "<command>",
    header = "relay-broker: claims a Relaycast agent identity and serves it to local clients",
    subcommands = {Up.class, Init.class, ConfigCommand.class, Emulator.class, Service.class, Completion.class,
      CommandLine.HelpCommand.class, VersionCommand.class},
    footerHeading = "%n",
    footer = {
      "With neither a workspace key nor a base URL, up starts an in-process Relaycast emulator and uses it. "
        + "A workspace key alone goes to the public cloud, " + CloudOptions.DEFAULT_BASE_URL + ".",
      "",
      "Environment: RELAY_API_KEY / RELAY_WORKSPACE_KEY / AGENT_RELAY_WORKSPACE_KEY (workspace key), "
        + "RELAYCAST_BASE_URL / RELAY_BASE_URL (base URL), RELAY_BROKER_API_KEY (local API key), AGENT_RELAY_STATE_DIR. "
        + "The workspace key and the base URL are taken together from the highest layer that sets either.",
      "Precedence: flags > environment > conf/config.json > defaults.",
      "",
      "Exit codes: 0 stopped cleanly, 1 could not start, 2 invalid configuration or usage, "
        + "3 another broker runs for this state dir.",
      "Help on one command: relay-broker help <command>. Shell completion: source <(relay-broker completion bash)"})
  static final class RelayBroker {
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {BrokerVersion.NAME + " " + BrokerVersion.VERSION};
    }
  }

  /** The flags of the commands that resolve a broker's configuration: up, init and config. */
  static class BrokerFlags {
    @Option(names = "--workspace-key", paramLabel = "K",
      description = "Workspace key (rk_live_...). Seen by every local user in `ps`: prefer RELAY_API_KEY or --workspace-key-file.")
    String workspaceKey;
    @Option(names = "--workspace-key-file", paramLabel = "F",
      description = "Reads the workspace key from F, a file only you can read (chmod 600), not a symlink.")
    Path workspaceKeyFile;
    @Option(names = "--base-url", paramLabel = "U", description = "Relaycast cloud base URL (default with a key: "
      + CloudOptions.DEFAULT_BASE_URL + ").")
    String baseUrl;
    @Option(names = "--allow-insecure-cloud",
      description = "Sends the workspace key over plain http:// to a host other than this machine (refused otherwise).")
    boolean allowInsecureCloud;
    @Option(names = "--name", paramLabel = "N", description = "Agent name (default: the working directory's name).")
    String name;
    @Option(names = "--instance-name", paramLabel = "N", description = "The same as --name (newer SDKs pass it).")
    String instanceName;
    @Option(names = "--reclaim", paramLabel = "own|offline|always", converter = ReclaimConverter.class,
      completionCandidates = ReclaimPolicies.class,
      description = "Which existing record a taken name may reclaim (default offline).")
    ReclaimPolicy reclaim;
    @Option(names = "--api-port", paramLabel = "P", converter = WholeNumber.class,
      description = "Local API port on loopback (default 0: any free port).")
    Integer apiPort;
    @Option(names = "--api-bind", paramLabel = "H", description = "Local API address (default 127.0.0.1).")
    String apiBind;
    @Option(names = "--allow-non-loopback", description = "Lets --api-bind name an address other machines can reach.")
    boolean allowNonLoopback;
    @Option(names = "--state-dir", paramLabel = "D", description = "State dir (default ./.agentworkforce/relay).")
    String stateDir;
    @Option(names = "--config", paramLabel = "F", description = "Config file (default conf/config.json).")
    String configFile;
    @Option(names = "--channels", paramLabel = "a,b", description = "Channels to join once ready (default general; \"\" for none).")
    String channels;
    @Option(names = "--lease-secs", paramLabel = "S", converter = WholeNumber.class,
      description = "Ephemeral mode: stop when no client renewed the owner lease for S seconds (default 600).")
    Integer leaseSecs;
    @Option(names = "--engine", paramLabel = "legacy|current", completionCandidates = Engines.class,
      description = "Engine generation of the embedded emulator (default current).")
    String engine;

    /**
     * For PlainSpawn: sets a flag as picocli would (a switch when {@code value} is null); false for a flag these
     * commands lack, or a value that does not convert, which picocli then reports in its words.
     */
    boolean set(String flag, String value) {
      try {
        switch (flag) {
          case "--workspace-key" -> workspaceKey = value;
          case "--workspace-key-file" -> workspaceKeyFile = Path.of(value);
          case "--base-url" -> baseUrl = value;
          case "--allow-insecure-cloud" -> allowInsecureCloud = true;
          case "--name" -> name = value;
          case "--instance-name" -> instanceName = value;
          case "--reclaim" -> reclaim = ReclaimPolicy.parse(value);
          case "--api-port" -> apiPort = Integer.parseInt(value.trim()); // as WholeNumber converts
          case "--api-bind" -> apiBind = value;
          case "--allow-non-loopback" -> allowNonLoopback = true;
          case "--state-dir" -> stateDir = value;
          case "--config" -> configFile = value;
          case "--channels" -> channels = value;
          case "--lease-secs" -> leaseSecs = Integer.parseInt(value.trim());
          case "--engine" -> engine = value;
          default -> {
            return false;
          }
        }
        return true;
      } catch (IllegalArgumentException unconvertible) { // NumberFormatException, InvalidPathException, a policy
        return false;
      }
    }

    void addTo(Parsed parsed) {
      if (workspaceKey != null && workspaceKeyFile != null) {
        parsed.problems.add("give the workspace key once: --workspace-key or --workspace-key-file, not both");
      } else if (workspaceKeyFile != null) {
        try {
          parsed.put("cloud.workspaceKey", "--workspace-key-file " + workspaceKeyFile, WorkspaceKeyFile.read(workspaceKeyFile));
        } catch (WorkspaceKeyFile.Refused refused) {
          parsed.problems.add(refused.getMessage());
        }
      } else if (workspaceKey != null) {
        parsed.put("cloud.workspaceKey", "--workspace-key", workspaceKey);
        parsed.warnings.add("--workspace-key puts the key on the command line, where every local user can read it (ps, "
          + "/proc); set RELAY_API_KEY in the environment or use --workspace-key-file F (chmod 600) instead");
      }
      parsed.put("cloud.baseUrl", "--base-url", baseUrl);
      if (allowInsecureCloud) {
        parsed.put("cloud.allowInsecureHttp", "--allow-insecure-cloud", true);
      }
      for (String[] named : new String[][] {{"--name", name}, {"--instance-name", instanceName}}) {
        if (named[1] != null && named[1].isBlank()) {
          parsed.problems.add(named[0] + " is empty: give the agent a name, or leave " + named[0]
            + " out to name it after the working directory");
        } else {
          parsed.put("name", named[0], named[1]);
        }
      }
      parsed.put("reclaim", "--reclaim", reclaim == null ? null : reclaim.wireName());
      parsed.put("api.port", "--api-port", apiPort);
      parsed.put("api.bind", "--api-bind", apiBind);
      if (allowNonLoopback) {
        parsed.put("api.allowNonLoopback", "--allow-non-loopback", true);
      }
      parsed.put("stateDir", "--state-dir", stateDir);
      if (channels != null) {
        JsonArray list = new JsonArray();
        Arrays.stream(channels.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(list::add);
        parsed.put("channels", "--channels", list);
      }
      parsed.put("leaseSecs", "--lease-secs", leaseSecs);
      parsed.put("emulatorEngine", "--engine", engine);
      parsed.configFile = configFile;
    }
  }

  @Command(name = "up", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpWidth = USAGE_WIDTH,
    header = "Runs a developer's broker (persist mode).",
    description = "Persist mode: a strict name, reclaimed on conflict by the --reclaim policy (default offline), transient "
      + "cloud errors retried forever. With neither a workspace key nor a base URL it starts an in-process Relaycast "
      + "emulator; --engine picks that emulator's engine generation.")
  static final class Up {
    @CommandLine.Mixin
    BrokerFlags flags = new BrokerFlags();
  }

  @Command(name = "init", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpWidth = USAGE_WIDTH,
    header = "What SDKs spawn (ephemeral mode; --persist for persist mode).",
    description = "Ephemeral mode: a taken name gets a suffix; the broker stops when the owner lease lapses, or soon "
      + "after a refusal nobody renews. --persist gives persist mode. Needs --name or --instance-name.")
  static final class Init {
    @CommandLine.Mixin
    BrokerFlags flags = new BrokerFlags();
    @Option(names = "--persist", description = "Persist mode, as up runs.")
    boolean persist;
  }

  @Command(name = "config", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpWidth = USAGE_WIDTH,
    header = "Prints the resolved configuration, each value with its source; starts nothing.",
    description = "Prints the configuration the broker would run with, as JSON: each value with where it came from (a "
      + "flag, an environment variable, the config file, or the default), secrets masked. Contacts nothing, starts "
      + "nothing: the way to see which cloud a key goes to.")
  static final class ConfigCommand {
    @CommandLine.Mixin
    BrokerFlags flags = new BrokerFlags();
  }

  @Command(name = "emulator", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpWidth = USAGE_WIDTH,
    header = "Runs the Relaycast cloud emulator alone.",
    description = "Runs the Relaycast cloud emulator alone (admin API under /_emulator/).")
  static final class Emulator {
    @Option(names = "--port", paramLabel = "P", converter = WholeNumber.class, description = "Port (default 0: any free port).")
    Integer port;
    @Option(names = "--host", paramLabel = "H", description = "Address (default 127.0.0.1).")
    String host;
    @Option(names = "--engine", paramLabel = "legacy|current", completionCandidates = Engines.class,
      description = "Engine generation (default current).")
    String engine;
    @Option(names = "--state-file", paramLabel = "F", description = "Keeps the emulator's state in F across restarts.")
    String stateFile;

    void addTo(Parsed parsed) {
      if (engine != null && !engine.equals("legacy") && !engine.equals("current")) {
        parsed.problems.add("--engine must be legacy or current, got '" + engine + "'");
      }
      putIfSet(parsed.emulator, "port", port);
      putIfSet(parsed.emulator, "host", host);
      putIfSet(parsed.emulator, "engine", engine);
      putIfSet(parsed.emulator, "stateFile", stateFile);
    }

    private static void putIfSet(JsonObject json, String key, Object value) {
      if (value != null) {
        json.put(key, value);
      }
    }
  }

  @Command(name = "service", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpWidth = USAGE_WIDTH,
    header = "Prints a systemd unit or launchd agent for this directory's broker.",
    description = "Prints a systemd user unit or a launchd agent that runs this directory's broker (up) and restarts it "
      + "on failure. The workspace key goes into <state dir>/broker.env (RELAY_API_KEY=..., chmod 600), never the unit.")
  static final class Service {
    /** Checked by hand, so a missing kind reads as the broker's own sentence rather than picocli's. */
    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Kind kind;
    @Option(names = {"--name", "--instance-name"}, paramLabel = "N", description = "Agent name (default: the working directory's name).")
    String name;
    @Option(names = "--state-dir", paramLabel = "D", description = "State dir (default ./.agentworkforce/relay).")
    String stateDir;

    static final class Kind {
      @Option(names = "--systemd", required = true, description = "A systemd user unit.")
      boolean systemd;
      @Option(names = "--launchd", required = true, description = "A launchd agent (macOS).")
      boolean launchd;
    }

    void addTo(Parsed parsed) {
      if (kind == null) {
        parsed.problems.add("service needs --systemd or --launchd");
        return;
      }
      parsed.serviceKind = kind.systemd ? "systemd" : "launchd";
      parsed.put("name", "--name", name);
      parsed.put("stateDir", "--state-dir", stateDir);
    }
  }

  @Command(name = "completion", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpWidth = USAGE_WIDTH,
    header = "Prints a shell completion script (bash, zsh).",
    description = "Prints picocli's completion script for the commands and flags: source <(relay-broker completion bash). "
      + "zsh reads it after autoload -U +X bashcompinit && bashcompinit.")
  static final class Completion {
    @Parameters(arity = "0..1", paramLabel = "bash|zsh", defaultValue = "bash", description = "The shell (default bash).")
    String shell;
  }

  @Command(name = "version", mixinStandardHelpOptions = true, versionProvider = Version.class, usageHelpWidth = USAGE_WIDTH,
    header = "Prints the version.")
  static final class VersionCommand {
  }

  static final class WholeNumber implements CommandLine.ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      try {
        return Integer.parseInt(value.trim());
      } catch (NumberFormatException e) {
        throw new CommandLine.TypeConversionException("needs a whole number, got '" + value + "'");
      }
    }
  }

  static final class ReclaimConverter implements CommandLine.ITypeConverter<ReclaimPolicy> {
    @Override
    public ReclaimPolicy convert(String value) {
      try {
        return ReclaimPolicy.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException("must be own, offline or always, got '" + value + "'");
      }
    }
  }

  static final class ReclaimPolicies extends ArrayList<String> {
    ReclaimPolicies() {
      super(Arrays.stream(ReclaimPolicy.values()).map(p -> p.name().toLowerCase(Locale.ROOT)).toList());
    }
  }

  static final class Engines extends ArrayList<String> {
    Engines() {
      super(List.of("legacy", "current"));
    }
  }
}
