package dev.relaybroker.config;

import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * The workspace key and the base URL, taken together from one layer: the highest one that sets either. Mixing
 * layers could send a key meant for one cloud to the URL of another (a key in the shell's environment and an old
 * emulator URL in {@code conf/config.json}); a key alone means the public Relaycast cloud, as upstream defaults.
 */
final class CloudPair {
  private static final String KEY = "cloud.workspaceKey";
  private static final String URL = "cloud.baseUrl";

  private final ConfigLayer chosen;
  private final List<ConfigLayer> layers;

  private CloudPair(ConfigLayer chosen, List<ConfigLayer> layers) {
    this.chosen = chosen;
    this.layers = layers;
  }

  /** @param layers highest precedence first */
  static CloudPair choose(List<ConfigLayer> layers) {
    ConfigLayer chosen = layers.stream().filter(l -> l.sets(KEY) || l.sets(URL)).findFirst().orElse(null);
    return new CloudPair(chosen, layers);
  }

  /** The layer's config without the key and the URL, unless it is the chosen layer. */
  JsonObject strip(JsonObject layer) {
    if (chosen != null && chosen.json() == layer) {
      return layer;
    }
    JsonObject copy = layer.copy();
    if (copy.getValue("cloud") instanceof JsonObject cloud) {
      cloud.remove("workspaceKey");
      cloud.remove("baseUrl");
    }
    return copy;
  }

  /** Fills in the public cloud's URL for a key that came without one, and names where both came from. */
  void applyTo(CloudOptions cloud) {
    if (cloud.getWorkspaceKey() != null && cloud.getBaseUrl() == null) {
      cloud.setBaseUrl(CloudOptions.defaultBaseUrl());
    }
    cloud.setWorkspaceKeySource(workspaceKeySource()).setBaseUrlSource(baseUrlSource());
  }

  String workspaceKeySource() {
    return chosen != null && chosen.sets(KEY) ? chosen.describe(KEY) : "not set";
  }

  String baseUrlSource() {
    if (chosen != null && chosen.sets(URL)) {
      return chosen.describe(URL);
    }
    return chosen != null ? "default (the public Relaycast cloud, for a workspace key without a base URL)" : "not set";
  }

  /** A line for each key or URL set in a lower layer and not used, so nobody wonders why their setting is ignored. */
  List<String> ignored() {
    List<String> notes = new ArrayList<>();
    for (ConfigLayer layer : layers) {
      if (layer == chosen) {
        continue;
      }
      for (String path : List.of(KEY, URL)) {
        if (layer.sets(path)) {
          notes.add(layer.describe(path) + " is not used: the workspace key and the base URL are taken together from "
            + chosen.describe(chosen.sets(KEY) ? KEY : URL));
        }
      }
    }
    return notes;
  }
}
