package dev.relaybroker.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds {@link BrokerOptions} from, in rising precedence: defaults, {@code conf/config.json}, the environment,
 * and command-line flags (SPEC §5). The file and environment stores are declared explicitly and in order
 * through Vert.x Config, with the environment whitelisted and no rescanning: the broker reads config once.
 */
public final class ConfigLoader {
  /** Environment variables the broker reads; nothing else from the environment leaks into config. */
  public static final List<String> ENVIRONMENT_KEYS = List.of(
    "RELAY_API_KEY", "RELAY_WORKSPACE_KEY", "AGENT_RELAY_WORKSPACE_KEY",
    "RELAY_BASE_URL", "RELAYCAST_BASE_URL", "RELAY_BROKER_API_KEY", "AGENT_RELAY_STATE_DIR");

  /** The workspace key's variables, most specific first (the SDKs disagree on the name). */
  static final String[] WORKSPACE_KEY_VARIABLES = {"AGENT_RELAY_WORKSPACE_KEY", "RELAY_WORKSPACE_KEY", "RELAY_API_KEY"};
  /** The base URL's variables, in the published Rust broker's order. */
  static final String[] BASE_URL_VARIABLES = {"RELAYCAST_BASE_URL", "RELAY_BASE_URL"};

  private ConfigLoader() {
  }

  /** The process environment as a config store, whitelisted to {@link #ENVIRONMENT_KEYS}. */
  public static ConfigStoreOptions processEnvironment() {
    return new ConfigStoreOptions().setType("env")
      .setConfig(new JsonObject().put("keys", new JsonArray(ENVIRONMENT_KEYS)).put("raw-data", true));
  }

  /**
   * @param configFile  path of the JSON config file
   * @param explicit    true when the user named the file ({@code --config}): then it must exist and parse. The
   *                    default {@code conf/config.json} may be absent, but when it exists it must parse too: a
   *                    broken file is never silently replaced by defaults (a key in it would be lost)
   * @param environment the environment store (tests pass a {@code json} store instead of the process's)
   * @param flags       config-shaped JSON built from the command line
   */
  public static Future<BrokerOptions> load(Vertx vertx, String configFile, boolean explicit, ConfigStoreOptions environment,
                                           JsonObject flags) {
    return resolve(vertx, configFile, explicit, environment, flags, Map.of()).map(ResolvedConfig::options);
  }

  /**
   * Like {@link #load}, and also says where each value came from ({@code relay-broker config}, the start-up log).
   *
   * @param flagNames the flag that set each config path ({@code cloud.baseUrl} → {@code --base-url}), for messages
   */
  public static Future<ResolvedConfig> resolve(Vertx vertx, String configFile, boolean explicit, ConfigStoreOptions environment,
                                               JsonObject flags, Map<String, String> flagNames) {
    return checkConfigFile(vertx, configFile, explicit)
      .compose(present -> load(vertx, configFile, present, environment, flags, flagNames));
  }

  /** Whether the file is there to read; fails with the user's problem when it must be and is not. */
  private static Future<Boolean> checkConfigFile(Vertx vertx, String configFile, boolean explicit) {
    return vertx.fileSystem().exists(configFile).compose(exists -> {
      if (!exists) {
        return explicit
          ? Future.failedFuture(new ConfigInvalidException(List.of("config file " + configFile + " does not exist")))
          : Future.succeededFuture(false);
      }
      return vertx.fileSystem().props(configFile).compose(props -> props.isDirectory()
        ? Future.failedFuture(new ConfigInvalidException(List.of("config file " + configFile + " is a directory, not a JSON file")))
        : Future.succeededFuture(true));
    });
  }

  private static Future<ResolvedConfig> load(Vertx vertx, String configFile, boolean present, ConfigStoreOptions environment,
                                             JsonObject flags, Map<String, String> flagNames) {
    ConfigRetrieverOptions fileStores = new ConfigRetrieverOptions().setScanPeriod(0);
    if (present) {
      fileStores.addStore(new ConfigStoreOptions().setType("file").setFormat("json").setOptional(false)
        .setConfig(new JsonObject().put("path", configFile)));
    }
    ConfigRetriever fileRetriever = ConfigRetriever.create(vertx, fileStores);
    ConfigRetriever envRetriever = ConfigRetriever.create(vertx,
      new ConfigRetrieverOptions().setScanPeriod(0).addStore(environment));
    // Two retrievers rather than one merged store: the environment's names (RELAY_API_KEY) are not the file's
    // (cloud.workspaceKey), so each layer is mapped to the config shape before the layers are merged.
    return Future.all(fileRetriever.getConfig(), envRetriever.getConfig())
      .eventually(() -> {
        fileRetriever.close();
        envRetriever.close();
        return Future.succeededFuture();
      })
      .recover(failure -> Future.failedFuture(new ConfigInvalidException(List.of(
        "config file " + configFile + " is not valid JSON: " + describeParseError(rootMessage(failure))))))
      .compose(both -> {
        JsonObject fileConfig = both.resultAt(0);
        JsonObject rawEnv = both.resultAt(1);
        Map<String, String> envNames = new LinkedHashMap<>();
        JsonObject envConfig = fromEnvironment(rawEnv, envNames);
        List<ConfigLayer> layers = List.of(
          new ConfigLayer(flags, path -> flagNames.getOrDefault(path, "the command line")),
          new ConfigLayer(envConfig, path -> "the environment variable " + envNames.get(path)),
          new ConfigLayer(fileConfig, path -> path + " in " + configFile));
        CloudPair cloud = CloudPair.choose(layers);
        // The pair is applied before validation, so a bad key's problem names where the key came from.
        return build(cloud.strip(fileConfig), cloud.strip(envConfig), cloud.strip(flags), options -> cloud.applyTo(options.getCloud()))
          .map(options -> new ResolvedConfig(options, sources(layers, cloud), cloud.ignored()));
      });
  }

  /** Where each key of the config came from: the highest layer that sets it, else the default. */
  private static Map<String, String> sources(List<ConfigLayer> layers, CloudPair cloud) {
    Map<String, String> sources = new LinkedHashMap<>();
    for (String path : ConfigSchema.paths()) {
      sources.put(path, layers.stream().filter(layer -> layer.sets(path)).findFirst()
        .map(layer -> layer.describe(path)).orElse("default"));
    }
    sources.put("cloud.baseUrl", cloud.baseUrlSource());
    sources.put("cloud.workspaceKey", cloud.workspaceKeySource());
    return sources;
  }

  /** Jackson's "Unexpected character … at [Source: …; line: 1, column: 74]" as "line 1, column 74: unexpected character …". */
  static String describeParseError(String message) {
    if (message == null) {
      return "unreadable";
    }
    java.util.regex.Matcher at = java.util.regex.Pattern.compile("line: (\\d+), column: (\\d+)").matcher(message);
    String what = message.replaceFirst("(?s)^Failed to decode:", "").replaceFirst("(?s)\\s*at \\[Source.*$", "")
      .replaceFirst("(?s)\n.*$", "").trim();
    return at.find() ? "line " + at.group(1) + ", column " + at.group(2) + ": " + what : what;
  }

  /** Merges the layers (later wins, deeply), checks their shape and values, and reports every problem at once. */
  public static Future<BrokerOptions> build(JsonObject fileConfig, JsonObject envConfig, JsonObject flags) {
    return build(fileConfig, envConfig, flags, options -> { });
  }

  /** @param completion what is known of the options beyond their JSON (where the cloud came from), before validation */
  static Future<BrokerOptions> build(JsonObject fileConfig, JsonObject envConfig, JsonObject flags,
                                     java.util.function.Consumer<BrokerOptions> completion) {
    List<String> problems = new ArrayList<>();
    JsonObject cleanFile = ConfigSchema.check(fileConfig, problems);
    JsonObject cleanFlags = ConfigSchema.check(flags, problems);
    JsonObject merged = cleanFile.mergeIn(envConfig, true).mergeIn(cleanFlags, true);
    BrokerOptions options;
    try {
      options = new BrokerOptions(merged);
      completion.accept(options);
    } catch (RuntimeException e) {
      return Future.failedFuture(new ConfigInvalidException(List.of("config could not be read: " + e.getMessage())));
    }
    problems.addAll(options.validate());
    return problems.isEmpty() ? Future.succeededFuture(options) : Future.failedFuture(new ConfigInvalidException(problems));
  }

  /** Maps the whitelisted environment to the config shape. */
  static JsonObject fromEnvironment(JsonObject env) {
    return fromEnvironment(env, new LinkedHashMap<>());
  }

  /** Also records which variable set each config path, in {@code names}. */
  static JsonObject fromEnvironment(JsonObject env, Map<String, String> names) {
    JsonObject cloud = new JsonObject();
    JsonObject api = new JsonObject();
    JsonObject config = new JsonObject();
    // The SDKs disagree on the variable's name; the most specific one wins.
    String key = firstSet(env, WORKSPACE_KEY_VARIABLES);
    if (key != null) {
      cloud.put("workspaceKey", key);
      names.put("cloud.workspaceKey", firstSetName(env, WORKSPACE_KEY_VARIABLES));
    }
    // RELAYCAST_BASE_URL first, as the published Rust broker reads them: one environment means one cloud for both.
    String baseUrl = firstSet(env, BASE_URL_VARIABLES);
    if (baseUrl != null) {
      cloud.put("baseUrl", baseUrl);
      names.put("cloud.baseUrl", firstSetName(env, BASE_URL_VARIABLES));
    }
    if (putIfSet(env, "RELAY_BROKER_API_KEY", api, "apiKey")) {
      names.put("api.apiKey", "RELAY_BROKER_API_KEY");
    }
    if (putIfSet(env, "AGENT_RELAY_STATE_DIR", config, "stateDir")) {
      names.put("stateDir", "AGENT_RELAY_STATE_DIR");
    }
    if (!cloud.isEmpty()) {
      config.put("cloud", cloud);
    }
    if (!api.isEmpty()) {
      config.put("api", api);
    }
    return config;
  }

  private static String firstSet(JsonObject env, String... names) {
    for (String name : names) {
      Object value = env.getValue(name);
      if (value != null && !String.valueOf(value).isBlank()) {
        return String.valueOf(value).trim();
      }
    }
    return null;
  }

  private static String firstSetName(JsonObject env, String... names) {
    for (String name : names) {
      if (firstSet(env, name) != null) {
        return name;
      }
    }
    return null;
  }

  private static boolean putIfSet(JsonObject env, String name, JsonObject target, String field) {
    String value = firstSet(env, name);
    if (value != null) {
      target.put(field, value);
    }
    return value != null;
  }

  private static String rootMessage(Throwable failure) {
    Throwable root = failure;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root.getMessage();
  }
}
