package dev.relaybroker.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * {@code --workspace-key-file F}: the workspace key kept out of the process table, in a file treated the way ssh
 * treats a private key. A link could point anywhere, and a file others can read or write is a key others have or
 * can replace: either is refused with the fix, before anything is read. The key itself is never in a message.
 */
final class WorkspaceKeyFile {
  private static final Set<PosixFilePermission> OTHERS = EnumSet.of(
    PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
    PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
  /** Far above any workspace key: a wrong file (a log, a binary) is refused rather than read whole. */
  private static final long MAX_BYTES = 4096;

  /** A key file the broker will not read; the message names the file, the reason and the fix. */
  static final class Refused extends Exception {
    Refused(String message) {
      super(message, null, false, false);
    }
  }

  private WorkspaceKeyFile() {
  }

  /** The key in {@code file}, trimmed; read on the calling thread (the command line's, before any event loop). */
  static String read(Path file) throws Refused {
    String named = "--workspace-key-file " + file;
    PosixFileAttributes attributes;
    try {
      attributes = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new Refused(named + ": no such file");
    } catch (IOException | UnsupportedOperationException e) {
      throw new Refused(named + ": cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    if (attributes.isSymbolicLink()) {
      throw new Refused(named + " is a symbolic link: name the key file itself (a link could be pointed elsewhere)");
    }
    if (!attributes.isRegularFile()) {
      throw new Refused(named + " is not a regular file");
    }
    String user = System.getProperty("user.name");
    if (!attributes.owner().getName().equals(user)) {
      throw new Refused(named + " is owned by " + attributes.owner().getName() + ", not by " + user
        + ": a key file must belong to the user who runs the broker");
    }
    if (attributes.permissions().stream().anyMatch(OTHERS::contains)) {
      throw new Refused(named + " can be read or written by group or others: chmod 600 " + file);
    }
    if (attributes.size() > MAX_BYTES) {
      throw new Refused(named + " is " + attributes.size() + " bytes: a workspace key file holds only the key");
    }
    String key;
    // Opened without following a link too: the checks above and this read see the same file.
    try (var channel = Files.newByteChannel(file, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
      ByteBuffer bytes = ByteBuffer.allocate((int) MAX_BYTES + 1);
      while (bytes.hasRemaining() && channel.read(bytes) >= 0) {
        // reads until the end or the bound
      }
      key = new String(bytes.array(), 0, bytes.position(), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new Refused(named + ": cannot be read (" + e.getClass().getSimpleName() + ")");
    }
    if (key.isEmpty()) {
      throw new Refused(named + " is empty: put the workspace key (rk_live_...) in it");
    }
    return key;
  }
}
