package dev.relaybroker;

/** The broker's name and version, as the jar's manifest states them ("dev" when run from classes). */
public final class BrokerVersion {
  public static final String NAME = "relay-broker";
  public static final String VERSION = resolve();

  private BrokerVersion() {
  }

  private static String resolve() {
    String fromManifest = BrokerVersion.class.getPackage().getImplementationVersion();
    return fromManifest != null ? fromManifest : "0.1.0-dev";
  }
}
