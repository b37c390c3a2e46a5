package dev.relaybroker.identity;

import dev.relaybroker.files.AtomicFiles;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * This installation's identity: 32 random bytes in {@code <state>/identity.key} (0600, created once). Only its
 * SHA-256 leaves the machine, as {@code metadata.relay_broker_identity}, so the cloud can tell later which
 * installation registered a name without ever holding the secret.
 */
public final class IdentitySecret {
  public static final String FILE_NAME = "identity.key";
  private static final int SIZE = 32;

  private final String hash;

  private IdentitySecret(byte[] secret) {
    this.hash = sha256Hex(secret);
  }

  /** SHA-256 hex of the secret: the only form that is ever sent or compared. */
  public String hash() {
    return hash;
  }

  public static Future<IdentitySecret> loadOrCreate(Vertx vertx, Path stateDir) {
    String file = stateDir.resolve(FILE_NAME).toString();
    return vertx.fileSystem().exists(file).compose(exists -> exists
      ? AtomicFiles.readNoFollow(vertx, file).compose(buffer -> buffer.length() == SIZE
        ? Future.succeededFuture(new IdentitySecret(buffer.getBytes()))
        : Future.failedFuture(new IllegalStateException(file + " is damaged (expected " + SIZE
          + " bytes); delete it to create a new identity (this installation will then count as a new machine)")))
      : create(vertx, file));
  }

  private static Future<IdentitySecret> create(Vertx vertx, String file) {
    byte[] secret = new byte[SIZE];
    new SecureRandom().nextBytes(secret);
    return AtomicFiles.writeOwnerOnly(vertx, file, Buffer.buffer(secret)).map(v -> new IdentitySecret(secret));
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
