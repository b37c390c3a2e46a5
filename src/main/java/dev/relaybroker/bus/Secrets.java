package dev.relaybroker.bus;

/** How secrets may be shown to a person: a short prefix, never the whole value. */
public final class Secrets {
  private static final int SHOWN = 12;

  private Secrets() {
  }

  /** {@code at_live_1a2b…}: enough to tell two tokens apart in a terminal, useless to an attacker. */
  public static String prefix(String secret) {
    if (secret == null) {
      return "none";
    }
    return secret.length() <= SHOWN ? secret.substring(0, Math.min(4, secret.length())) + "…" : secret.substring(0, SHOWN) + "…";
  }
}
