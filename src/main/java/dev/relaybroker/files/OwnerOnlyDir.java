package dev.relaybroker.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;

/**
 * The state dir treated the way ssh treats {@code ~/.ssh} (StrictModes): before the broker puts a key or a token
 * in it, the dir must be a real directory (not a link), owned by the user running the broker, and not writable
 * by anyone else; every file in it must be a plain file of that user, and is brought to 0600. A dir the broker
 * creates itself is made 0700 at once. Anything else is a {@link StateDirUnsafe} naming the path and the fix.
 *
 * <p>Why refuse rather than repair: a dir another user could write may already hold their links (a
 * {@code broker.lock} pointing at the victim's dotfile was the finding), and tightening it afterwards does not
 * remove them. Blocking file I/O: call it on a worker thread (the state-dir lock does, before any verticle runs).
 */
public final class OwnerOnlyDir {
  static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString(AtomicFiles.OWNER_ONLY_DIR);
  static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString(AtomicFiles.OWNER_ONLY_FILE);
  private static final String WAYS_TO_SET = "--state-dir or AGENT_RELAY_STATE_DIR sets another";
  private static final String GITIGNORE = ".gitignore";

  private OwnerOnlyDir() {
  }

  /**
   * Creates or checks the state dir, tightens what it finds, and writes its {@code .gitignore} ({@code *}: the
   * dir often lives inside a project, and its secrets must never be committed).
   */
  public static void prepare(Path dir) throws IOException {
    boolean created = createIfMissing(dir);
    Map<String, Object> attributes = unixAttributes(dir);
    if (Boolean.TRUE.equals(attributes.get("isSymbolicLink"))) {
      throw new StateDirUnsafe(dir, "the state dir is a symbolic link (to " + readLinkQuietly(dir) + ")",
        "point the broker at the real directory instead (" + WAYS_TO_SET + ")");
    }
    if (!Boolean.TRUE.equals(attributes.get("isDirectory"))) {
      throw new IOException("cannot use the state dir " + dir + ": not a directory (it is a file); " + WAYS_TO_SET);
    }
    int owner = (Integer) attributes.get("uid");
    if (owner != CurrentUser.uid()) {
      throw new StateDirUnsafe(dir, "the state dir is owned by uid " + owner + ", not by the user running the broker (uid "
        + CurrentUser.uid() + ")", "use a directory of your own (" + WAYS_TO_SET + ")");
    }
    int mode = (Integer) attributes.get("mode");
    if (!created && (mode & 0022) != 0) {
      String who = (mode & 0002) != 0 ? "writable by others" : "writable by its group";
      throw new StateDirUnsafe(dir, "the state dir is " + who + " (mode " + Integer.toOctalString(mode & 0777)
        + "), so another user may have planted links or files in it",
        "check its contents, then chmod 700 " + dir + " (or " + WAYS_TO_SET + ")");
    }
    Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setPermissions(DIR_MODE);
    checkEntries(dir);
    writeGitignore(dir);
  }

  /** True when this call created the dir; a failure names the state dir, the OS's reason and how to set another. */
  private static boolean createIfMissing(Path dir) throws IOException {
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    try {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
      return true;
    } catch (FileAlreadyExistsException raced) {
      // Created meanwhile (or a parent is a file: then the checks below name it)
      if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
        return false;
      }
      throw new IOException("cannot create the state dir " + dir + ": not a directory (" + raced.getFile()
        + " is a file); " + WAYS_TO_SET, raced);
    } catch (AccessDeniedException denied) {
      throw new IOException("cannot create the state dir " + dir + ": permission denied (" + denied.getFile() + "); "
        + WAYS_TO_SET, denied);
    } catch (FileSystemException other) {
      String reason = other.getReason() != null ? other.getReason().toLowerCase(java.util.Locale.ROOT) : other.getClass().getSimpleName();
      throw new IOException("cannot create the state dir " + dir + ": " + reason + " (" + other.getFile() + "); " + WAYS_TO_SET, other);
    }
  }

  /** Every entry: no links, no files of other users, no hard links to elsewhere; plain files brought to 0600. */
  private static void checkEntries(Path dir) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        Map<String, Object> attributes = unixAttributes(entry);
        if (Boolean.TRUE.equals(attributes.get("isSymbolicLink"))) {
          throw new StateDirUnsafe(entry, "it is a symbolic link (to " + readLinkQuietly(entry)
            + "), which the broker never follows: another user may have planted it", "remove it (rm " + entry + ") and start again");
        }
        int owner = (Integer) attributes.get("uid");
        if (owner != CurrentUser.uid()) {
          throw new StateDirUnsafe(entry, "it is owned by uid " + owner + ", not by the user running the broker",
            "remove it (rm " + entry + ") and start again");
        }
        if (!Boolean.TRUE.equals(attributes.get("isRegularFile"))) {
          continue; // the broker's own socket, or a dir a person put here: never opened as a state file
        }
        if ((Integer) attributes.get("nlink") > 1) {
          throw new StateDirUnsafe(entry, "it has another hard link, so writing it could change a file elsewhere",
            "remove it (rm " + entry + ") and start again");
        }
        if (((Integer) attributes.get("mode") & 0777) != 0600) {
          Files.getFileAttributeView(entry, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setPermissions(FILE_MODE);
        }
      }
    } catch (NotDirectoryException raced) {
      throw new IOException("cannot use the state dir " + dir + ": not a directory; " + WAYS_TO_SET, raced);
    }
  }

  private static void writeGitignore(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir.resolve(GITIGNORE), Set.of(StandardOpenOption.CREATE_NEW,
      StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(FILE_MODE))) {
      channel.write(ByteBuffer.wrap("*\n".getBytes(StandardCharsets.US_ASCII)));
    } catch (FileAlreadyExistsException kept) {
      // A person's own .gitignore stays as they wrote it.
    }
  }

  static Map<String, Object> unixAttributes(Path path) throws IOException {
    return Files.readAttributes(path, "unix:mode,uid,nlink,isSymbolicLink,isDirectory,isRegularFile", LinkOption.NOFOLLOW_LINKS);
  }

  private static String readLinkQuietly(Path link) {
    try {
      return Files.readSymbolicLink(link).toString();
    } catch (IOException | UnsupportedOperationException e) {
      return "somewhere";
    }
  }

  /** The uid the broker runs as, to compare owners with. */
  static final class CurrentUser {
    private static final int UID = (int) new com.sun.security.auth.module.UnixSystem().getUid();

    static int uid() {
      return UID;
    }
  }

  /** Quiet check for callers that only want to know: the path exists and is a link. */
  static boolean isLink(Path path) {
    try {
      return Boolean.TRUE.equals(Files.readAttributes(path, "isSymbolicLink", LinkOption.NOFOLLOW_LINKS).get("isSymbolicLink"));
    } catch (NoSuchFileException absent) {
      return false;
    } catch (IOException unreadable) {
      return false;
    }
  }
}
