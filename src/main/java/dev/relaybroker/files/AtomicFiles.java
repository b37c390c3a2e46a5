package dev.relaybroker.files;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.FileSystem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;

/**
 * Writes files that hold secrets (credential cache, connection file, emulator state) the way Vault Agent
 * writes its sinks: a 0600 temp file beside the target, then an atomic rename. A reader, or a broker killed
 * mid-write, sees either the old file or the new one, never a partial one. No file is ever opened through a
 * symbolic link (see {@link OwnerOnlyDir}). The blocking I/O runs on a worker, so callers on the event loop never
 * block.
 */
public final class AtomicFiles {
  public static final String OWNER_ONLY_FILE = "rw-------";
  public static final String OWNER_ONLY_DIR = "rwx------";
  private static final SecureRandom RANDOM = new SecureRandom();

  private AtomicFiles() {
  }

  public static Future<Void> writeOwnerOnly(Vertx vertx, String path, Buffer content) {
    byte[] bytes = content.getBytes();
    return vertx.executeBlocking(() -> {
      writeOwnerOnlyBlocking(Path.of(path), bytes);
      return null;
    }, false);
  }

  /**
   * The temp file is created exclusively and without following links (a link planted at its name makes the
   * create fail, never redirects it), and the rename replaces whatever sits at the target, a link included,
   * rather than writing through it.
   */
  static void writeOwnerOnlyBlocking(Path target, byte[] content) throws IOException {
    byte[] suffix = new byte[4];
    RANDOM.nextBytes(suffix);
    Path temp = target.resolveSibling(target.getFileName() + ".tmp-" + HexFormat.of().formatHex(suffix));
    try {
      // The permissions are applied at creation, so the secret is never readable by others, not even briefly.
      try (FileChannel channel = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(OwnerOnlyDir.FILE_MODE))) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException failure) {
      Files.deleteIfExists(temp);
      throw failure;
    }
  }

  /**
   * Reads a state file without following a link: a link is a {@link StateDirUnsafe} (someone planted it), and
   * anything but a plain file (a FIFO would block the reader forever) is refused too. Fails with
   * {@link java.nio.file.NoSuchFileException} when the file is absent.
   */
  public static Future<Buffer> readNoFollow(Vertx vertx, String path) {
    return vertx.executeBlocking(() -> Buffer.buffer(readNoFollowBlocking(Path.of(path))), false);
  }

  static byte[] readNoFollowBlocking(Path file) throws IOException {
    Map<String, Object> attributes = OwnerOnlyDir.unixAttributes(file);
    if (Boolean.TRUE.equals(attributes.get("isSymbolicLink"))) {
      throw new StateDirUnsafe(file, "it is a symbolic link, which the broker never follows", "remove it (rm " + file + ")");
    }
    if (!Boolean.TRUE.equals(attributes.get("isRegularFile"))) {
      throw new StateDirUnsafe(file, "it is not a plain file", "remove it (rm " + file + ")");
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      return Channels.newInputStream(channel).readAllBytes();
    } catch (FileSystemException raced) {
      if (OwnerOnlyDir.isLink(file)) {
        throw new StateDirUnsafe(file, "it is a symbolic link, which the broker never follows", "remove it (rm " + file + ")");
      }
      throw raced;
    }
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

  /**
   * Creates the directory (and parents) as 0700 when missing, and checks and tightens it when it exists: see
   * {@link OwnerOnlyDir#prepare}, whose refusals this future fails with.
   */
  public static Future<Void> ensureOwnerOnlyDir(Vertx vertx, String dir) {
    return vertx.executeBlocking(() -> {
      OwnerOnlyDir.prepare(Path.of(dir));
      return null;
    }, false);
  }
}
