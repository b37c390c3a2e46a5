package dev.relaybroker.files;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.CopyOptions;
import io.vertx.core.file.FileSystem;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Writes files that hold secrets (credential cache, connection file, emulator state) the way Vault Agent
 * writes its sinks: a 0600 temp file beside the target, then an atomic rename. A reader, or a broker killed
 * mid-write, sees either the old file or the new one, never a partial one. All I/O goes through Vert.x's
 * async file system, so callers on the event loop never block.
 */
public final class AtomicFiles {
  public static final String OWNER_ONLY_FILE = "rw-------";
  public static final String OWNER_ONLY_DIR = "rwx------";
  private static final SecureRandom RANDOM = new SecureRandom();

  private AtomicFiles() {
  }

  public static Future<Void> writeOwnerOnly(Vertx vertx, String path, Buffer content) {
    FileSystem fs = vertx.fileSystem();
    byte[] suffix = new byte[4];
    RANDOM.nextBytes(suffix);
    String temp = path + ".tmp-" + HexFormat.of().formatHex(suffix);
    // createFile applies the permissions at creation, so the secret is never readable by others, not even briefly.
    return fs.createFile(temp, OWNER_ONLY_FILE)
      .compose(v -> fs.writeFile(temp, content))
      .compose(v -> fs.move(temp, path, new CopyOptions().setAtomicMove(true).setReplaceExisting(true)))
      .recover(failure -> fs.delete(temp).transform(ignored -> Future.failedFuture(failure)));
  }

  /**
   * Deletes {@code *.tmp-*} files a killed process left behind. Called once the state-dir lock is held, so no
   * other writer can own them.
   */
  public static Future<Void> deleteLeftoverTemps(Vertx vertx, String dir) {
    FileSystem fs = vertx.fileSystem();
    return fs.readDir(dir, ".*\\.tmp-[0-9a-f]{8}")
      .compose(leftovers -> Future.join(leftovers.stream().map(f -> fs.delete(f).otherwiseEmpty()).toList()))
      .<Void>mapEmpty()
      .otherwiseEmpty();
  }

  /** Creates the directory (and parents) as 0700 when missing, and tightens it to 0700 when it exists. */
  public static Future<Void> ensureOwnerOnlyDir(Vertx vertx, String dir) {
    FileSystem fs = vertx.fileSystem();
    return fs.exists(dir)
      .compose(exists -> exists ? Future.<Void>succeededFuture() : fs.mkdirs(dir, OWNER_ONLY_DIR))
      .compose(v -> fs.chmod(dir, OWNER_ONLY_DIR));
  }
}
