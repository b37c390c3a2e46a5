package dev.relaybroker.cli;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The command line of SPEC §5, turned into a command plus a config-shaped {@link JsonObject} of flags (the
 * highest-precedence layer of the config). Every problem is collected, so one run reports them all.
 */
public final class CommandLine {
  /** {@code NONE}: no command was given; the usage is printed as an error. */
  public enum Command { UP, INIT, CONFIG, EMULATOR, SERVICE, HELP, VERSION, NONE }

  /** Flags that take a value, and where that value goes in the config shape ("" = handled specially). */
  private static final Map<String, String> VALUE_FLAGS = Map.ofEntries(
    Map.entry("--workspace-key", "cloud.workspaceKey"),
    Map.entry("--base-url", "cloud.baseUrl"),
    Map.entry("--name", "name"),
    Map.entry("--instance-name", "name"),
    Map.entry("--reclaim", "reclaim"),
    Map.entry("--api-port", "api.port:int"),
    Map.entry("--api-bind", "api.bind"),
    Map.entry("--state-dir", "stateDir"),
    Map.entry("--channels", "channels:list"),
    Map.entry("--lease-secs", "leaseSecs:int"),
    Map.entry("--engine", ""),
    Map.entry("--config", ""),
    Map.entry("--port", ""),
    Map.entry("--host", ""),
    Map.entry("--state-file", ""));

  public final Command command;
  /** With {@code --help} after a command ({@code up --help}): the command whose usage to print; else null. */
  public final Command helpFor;
  public final JsonObject flags;
  public final String configFile;
  public final JsonObject emulator;
  public final List<String> problems;
  /** {@code systemd} or {@code launchd} for {@code service}; else null. */
  public final String serviceKind;
  /** The flag that set each config path ({@code cloud.baseUrl} → {@code --base-url}), to say where a value came from. */
  public final Map<String, String> flagNames;

  private CommandLine(Command command, Command helpFor, JsonObject flags, String configFile, JsonObject emulator, List<String> problems,
                      String serviceKind, Map<String, String> flagNames) {
    this.serviceKind = serviceKind;
    this.flagNames = flagNames;
    this.command = command;
    this.helpFor = helpFor;
    this.flags = flags;
    this.configFile = configFile;
    this.emulator = emulator;
    this.problems = problems;
  }

  public static CommandLine parse(String... args) {
    List<String> problems = new ArrayList<>();
    List<String> rest = new ArrayList<>(Arrays.asList(args));
    // Bare `relay-broker` prints the usage instead of starting a broker nobody asked for.
    Command command = rest.isEmpty() ? Command.NONE : Command.UP;
    Command named = null;
    if (!rest.isEmpty() && !rest.get(0).startsWith("-")) {
      String word = rest.remove(0);
      switch (word) {
        case "up" -> command = Command.UP;
        case "init" -> command = Command.INIT;
        case "config" -> command = Command.CONFIG;
        case "emulator" -> command = Command.EMULATOR;
        case "help" -> command = Command.HELP;
        case "version" -> command = Command.VERSION;
        case "service" -> command = Command.SERVICE;
        default -> problems.add("unknown command '" + word + "' (commands: up, init, config, emulator, service, help, version)");
      }
      named = command;
    }
    JsonObject flags = new JsonObject();
    JsonObject emulator = new JsonObject();
    String configFile = null;
    boolean persist = false;
    String serviceKind = null;
    Map<String, String> flagNames = new java.util.HashMap<>();
    for (int i = 0; i < rest.size(); i++) {
      String arg = rest.get(i);
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        value = arg.substring(eq + 1);
        arg = arg.substring(0, eq);
      }
      switch (arg) {
        case "-h", "--help" -> command = Command.HELP;
        case "-V", "--version" -> command = Command.VERSION;
        case "--persist" -> persist = true;
        case "--systemd", "--launchd" -> serviceKind = arg.substring(2);
        case "--allow-non-loopback" -> {
          section(flags, "api").put("allowNonLoopback", true);
          flagNames.put("api.allowNonLoopback", arg);
        }
        default -> {
          String target = VALUE_FLAGS.get(arg);
          if (target == null) {
            problems.add(arg.startsWith("-") ? "unknown flag '" + arg + "' (see --help)" : "unexpected argument '" + arg + "' (see --help)");
            if (arg.startsWith("-") && value == null && i + 1 < rest.size() && !rest.get(i + 1).startsWith("-")) {
              i++; // most likely the unknown flag's value, not a problem of its own
            }
            continue;
          }
          if (value == null) {
            if (i + 1 >= rest.size() || rest.get(i + 1).startsWith("--")) {
              problems.add("flag " + arg + " needs a value");
              continue;
            }
            value = rest.get(++i);
          }
          switch (arg) {
            case "--config" -> configFile = value;
            case "--engine" -> {
              emulator.put("engine", value);
              flags.put("emulatorEngine", value);
              flagNames.put("emulatorEngine", arg);
            }
            case "--port" -> putInt(emulator, "port", arg, value, problems);
            case "--host" -> emulator.put("host", value);
            case "--state-file" -> emulator.put("stateFile", value);
            default -> {
              put(flags, target, arg, value, problems);
              flagNames.put(target.split(":")[0], arg);
            }
          }
        }
      }
    }
    if (command == Command.INIT && flags.getValue("name") == null) {
      problems.add("init needs --name N (or --instance-name N): it is what SDKs spawn, and they always name the agent");
    }
    if (command == Command.INIT) {
      flags.put("mode", persist ? "persist" : "ephemeral");
    } else if (command == Command.UP) {
      flags.put("mode", "persist");
    }
    if (command == Command.EMULATOR && emulator.getValue("engine") instanceof String engine
      && !engine.equals("legacy") && !engine.equals("current")) {
      problems.add("--engine must be legacy or current, got '" + engine + "'");
    }
    if (command == Command.SERVICE && serviceKind == null) {
      problems.add("service needs --systemd or --launchd");
    }
    if (command == Command.SERVICE) {
      flags.put("mode", "persist");
    }
    Command helpFor = command == Command.HELP && named != null && named != Command.HELP ? named : null;
    return new CommandLine(command, helpFor, flags, configFile, emulator, problems, serviceKind, Map.copyOf(flagNames));
  }

  private static void put(JsonObject flags, String target, String flag, String value, List<String> problems) {
    String[] typed = target.split(":");
    String[] path = typed[0].split("\\.");
    JsonObject holder = path.length == 2 ? section(flags, path[0]) : flags;
    String field = path[path.length - 1];
    String type = typed.length > 1 ? typed[1] : "string";
    switch (type) {
      case "int" -> putInt(holder, field, flag, value, problems);
      case "list" -> {
        JsonArray list = new JsonArray();
        Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(list::add);
        holder.put(field, list);
      }
      default -> holder.put(field, value);
    }
  }

  private static void putInt(JsonObject holder, String field, String flag, String value, List<String> problems) {
    try {
      holder.put(field, Integer.parseInt(value.trim()));
    } catch (NumberFormatException e) {
      problems.add("flag " + flag + " needs a whole number, got '" + value + "'");
    }
  }

  private static JsonObject section(JsonObject flags, String name) {
    JsonObject section = flags.getJsonObject(name);
    if (section == null) {
      section = new JsonObject();
      flags.put(name, section);
    }
    return section;
  }

  private static final String UP_USAGE = String.join("\n",
      "  relay-broker up   [--workspace-key K] [--base-url U] [--name N] [--reclaim own|offline|always]",
      "                    [--api-port P] [--api-bind H [--allow-non-loopback]] [--state-dir D] [--config F]",
      "                    [--channels a,b] [--lease-secs S] [--engine legacy|current]");
  private static final String INIT_USAGE = String.join("\n",
      "  relay-broker init (--name N | --instance-name N) [--channels a,b] [--persist] [--workspace-key K]",
      "                    [--base-url U] [--api-port P] [--api-bind H] [--state-dir D] [--lease-secs S] [--config F]");
  private static final String CONFIG_USAGE =
      "  relay-broker config [the flags of up]";
  private static final String EMULATOR_USAGE =
      "  relay-broker emulator [--port P] [--host H] [--engine legacy|current] [--state-file F]";
  private static final String SERVICE_USAGE =
      "  relay-broker service (--systemd | --launchd) [--name N] [--state-dir D]";

  /** The usage of one command ({@code up --help}). */
  public static String usage(Command command) {
    return switch (command) {
      case UP -> String.join("\n", "Usage:", UP_USAGE, "",
        "Runs a developer's broker in persist mode: a strict name, reclaimed on conflict by the --reclaim policy",
        "(default offline), transient cloud errors retried forever. With neither a workspace key nor a base URL it",
        "starts an in-process Relaycast emulator. --engine picks that emulator's engine generation.");
      case INIT -> String.join("\n", "Usage:", INIT_USAGE, "",
        "What SDKs spawn: ephemeral mode (a taken name gets a suffix; the broker stops when the owner lease lapses,",
        "or soon after a refusal nobody renews); --persist gives persist mode. The workspace key comes from",
        "--workspace-key or RELAY_API_KEY / RELAY_WORKSPACE_KEY / AGENT_RELAY_WORKSPACE_KEY.");
      case CONFIG -> String.join("\n", "Usage:", CONFIG_USAGE, "",
        "Prints the configuration the broker would run with, as JSON: each value with where it came from (a flag,",
        "an environment variable, the config file, or the default), secrets masked. Contacts nothing, starts nothing.");
      case SERVICE -> String.join("\n", "Usage:", SERVICE_USAGE, "",
        "Prints a systemd user unit or a launchd agent that runs this directory's broker (up) and restarts it on",
        "failure. The workspace key goes into <state dir>/broker.env (RELAY_API_KEY=..., chmod 600), never the unit.");
      case EMULATOR -> String.join("\n", "Usage:", EMULATOR_USAGE, "",
        "Runs the Relaycast cloud emulator alone (admin API under /_emulator/, see README).");
      default -> usage();
    };
  }

  public static String usage() {
    return String.join("\n",
      "relay-broker: claims a Relaycast agent identity and serves it to local clients",
      "",
      "Usage:",
      UP_USAGE,
      INIT_USAGE,
      CONFIG_USAGE,
      EMULATOR_USAGE,
      SERVICE_USAGE,
      "  relay-broker --help | --version | <command> --help",
      "",
      "up runs in persist mode (strict name, reclaimed on conflict, transient errors retried forever).",
      "init is what SDKs spawn: ephemeral mode (a taken name gets a suffix; stops when the owner lease lapses).",
      "With neither a workspace key nor a base URL, up starts an in-process Relaycast emulator and uses it.",
      "A workspace key alone goes to the public cloud, " + dev.relaybroker.config.CloudOptions.DEFAULT_BASE_URL + ".",
      "config prints the resolved configuration with each value's source, and starts nothing.",
      "",
      "Environment: RELAY_API_KEY / RELAY_WORKSPACE_KEY / AGENT_RELAY_WORKSPACE_KEY (workspace key),",
      "  RELAYCAST_BASE_URL / RELAY_BASE_URL (base URL), RELAY_BROKER_API_KEY (local API key), AGENT_RELAY_STATE_DIR.",
      "The workspace key and the base URL are taken together from the highest layer that sets either.",
      "Precedence: flags > environment > conf/config.json > defaults.",
      "Exit codes: 0 stopped cleanly, 1 could not start, 2 invalid configuration, 3 another broker runs for this",
      "  state dir.");
  }
}
