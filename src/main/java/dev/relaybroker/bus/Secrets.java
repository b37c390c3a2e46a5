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

  /**
   * The first 16 hex digits of the secret's SHA-256: tells which token a broker serves (and lets a person or the
   * soak match it against the cloud's record) without revealing anything of the token itself.
   */
  public static String fingerprint(String secret) {
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(digest, 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
