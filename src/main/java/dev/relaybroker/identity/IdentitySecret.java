package dev.relaybroker.identity;

import dev.relaybroker.files.AtomicFiles;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * This broker's identity key: {@code RELAY_AGENT_IDENTITY_KEY} when set (the published Rust broker's variable, so a
 * Rust broker and this one given the same key are the same owner), else 32 random bytes in
 * {@code <state>/identity.key} (0600, created once). Only its SHA-256 leaves the machine, as
 * {@code metadata.identity_key} ({@link IdentityProof}), so the cloud can tell later who registered a name without
 * ever holding the key.
 */
public final class IdentitySecret {
  public static final String FILE_NAME = "identity.key";
  /** Upstream 12.4.1 (v11.4.2, PR #1438) reads the same variable and hashes the same way: SHA-256 of its UTF-8, hex. */
  public static final String ENV_KEY = "RELAY_AGENT_IDENTITY_KEY";
  private static final int SIZE = 32;

  private final String hash;
  private final String source;

  private IdentitySecret(byte[] secret, String source) {
    this.hash = sha256Hex(secret);
    this.source = source;
  }

  /** Where the key came from, for the log: the variable's name or the file's path (never the key). */
  public String source() {
    return source;
  }

  /** SHA-256 hex of the secret: the only form that is ever sent or compared. */
  public String hash() {
    return hash;
  }

  public static Future<IdentitySecret> loadOrCreate(Vertx vertx, Path stateDir) {
    return loadOrCreate(vertx, stateDir, System.getenv(ENV_KEY));
  }

  /** @param identityKey the value of {@code RELAY_AGENT_IDENTITY_KEY}; null or blank reads or creates the file */
  public static Future<IdentitySecret> loadOrCreate(Vertx vertx, Path stateDir, String identityKey) {
    if (identityKey != null && !identityKey.isBlank()) {
      return Future.succeededFuture(new IdentitySecret(identityKey.getBytes(StandardCharsets.UTF_8), ENV_KEY));
    }
    String file = stateDir.resolve(FILE_NAME).toString();
    return vertx.fileSystem().exists(file).compose(exists -> exists
      ? AtomicFiles.readNoFollow(vertx, file).compose(buffer -> buffer.length() == SIZE
        ? Future.succeededFuture(new IdentitySecret(buffer.getBytes(), file))
        : Future.failedFuture(new IllegalStateException(file + " is damaged (expected " + SIZE
          + " bytes); delete it to create a new identity (this installation will then count as a new machine)")))
      : create(vertx, file));
  }

  private static Future<IdentitySecret> create(Vertx vertx, String file) {
    byte[] secret = new byte[SIZE];
    new SecureRandom().nextBytes(secret);
    return AtomicFiles.writeOwnerOnly(vertx, file, Buffer.buffer(secret)).map(v -> new IdentitySecret(secret, file));
  }

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  @Override
  public String toString() {
    return "IdentitySecret[hash=" + hash.substring(0, 8) + "…]";
  }
}
