package dev.relaybroker.bus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

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
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
