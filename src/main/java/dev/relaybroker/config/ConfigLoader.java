package dev.relaybroker.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds {@link BrokerOptions} from, in rising precedence: defaults, {@code conf/config.json}, the environment,
 * and command-line flags (SPEC §5). The file and environment stores are declared explicitly and in order
 * through Vert.x Config, with the environment whitelisted and no rescanning: the broker reads config once.
 */
public final class ConfigLoader {
  /** Environment variables the broker reads; nothing else from the environment leaks into config. */
  public static final List<String> ENVIRONMENT_KEYS = List.of(
    "RELAY_API_KEY", "RELAY_WORKSPACE_KEY", "AGENT_RELAY_WORKSPACE_KEY",
    "RELAY_BASE_URL", "RELAY_BROKER_API_KEY", "AGENT_RELAY_STATE_DIR");

  private ConfigLoader() {
  }

  /** The process environment as a config store, whitelisted to {@link #ENVIRONMENT_KEYS}. */
  public static ConfigStoreOptions processEnvironment() {
    return new ConfigStoreOptions().setType("env")
      .setConfig(new JsonObject().put("keys", new JsonArray(ENVIRONMENT_KEYS)).put("raw-data", true));
  }

  /**
   * @param configFile  path of the JSON config file; a missing file is fine (defaults apply)
   * @param environment the environment store (tests pass a {@code json} store instead of the process's)
   * @param flags       config-shaped JSON built from the command line
   */
  public static Future<BrokerOptions> load(Vertx vertx, String configFile, ConfigStoreOptions environment, JsonObject flags) {
    ConfigStoreOptions file = new ConfigStoreOptions().setType("file").setFormat("json").setOptional(true)
      .setConfig(new JsonObject().put("path", configFile));
    ConfigRetriever fileRetriever = ConfigRetriever.create(vertx,
      new ConfigRetrieverOptions().setScanPeriod(0).addStore(file));
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
        "cannot read config file " + configFile + ": " + rootMessage(failure)))))
      .compose(both -> {
        JsonObject fileConfig = both.resultAt(0);
        JsonObject envConfig = fromEnvironment(both.resultAt(1));
        return build(fileConfig, envConfig, flags);
      });
  }

  /** Merges the layers (later wins, deeply), checks their shape and values, and reports every problem at once. */
  public static Future<BrokerOptions> build(JsonObject fileConfig, JsonObject envConfig, JsonObject flags) {
    List<String> problems = new ArrayList<>();
    JsonObject cleanFile = ConfigSchema.check(fileConfig, problems);
    JsonObject cleanFlags = ConfigSchema.check(flags, problems);
    JsonObject merged = cleanFile.mergeIn(envConfig, true).mergeIn(cleanFlags, true);
    BrokerOptions options;
    try {
      options = new BrokerOptions(merged);
    } catch (RuntimeException e) {
      return Future.failedFuture(new ConfigInvalidException(List.of("config could not be read: " + e.getMessage())));
    }
    problems.addAll(options.validate());
    return problems.isEmpty() ? Future.succeededFuture(options) : Future.failedFuture(new ConfigInvalidException(problems));
  }

  /** Maps the whitelisted environment to the config shape. */
  static JsonObject fromEnvironment(JsonObject env) {
    JsonObject cloud = new JsonObject();
    JsonObject api = new JsonObject();
    JsonObject config = new JsonObject();
    // The SDKs disagree on the variable's name; the most specific one wins.
    String key = firstSet(env, "AGENT_RELAY_WORKSPACE_KEY", "RELAY_WORKSPACE_KEY", "RELAY_API_KEY");
    if (key != null) {
      cloud.put("workspaceKey", key);
    }
    putIfSet(env, "RELAY_BASE_URL", cloud, "baseUrl");
    putIfSet(env, "RELAY_BROKER_API_KEY", api, "apiKey");
    putIfSet(env, "AGENT_RELAY_STATE_DIR", config, "stateDir");
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

  private static void putIfSet(JsonObject env, String name, JsonObject target, String field) {
    String value = firstSet(env, name);
    if (value != null) {
      target.put(field, value);
    }
  }

  private static String rootMessage(Throwable failure) {
    Throwable root = failure;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root.getMessage();
  }
}
