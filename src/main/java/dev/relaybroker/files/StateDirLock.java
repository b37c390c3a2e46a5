package dev.relaybroker.files;


import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * One broker per state dir. An OS file lock on {@code <state>/broker.lock} holds the claim, so a broker killed
 * with SIGKILL releases it with its process and the next start takes over at once; the pid written inside only
 * serves the error message. Taken on a worker thread (it is blocking file I/O) before any verticle is deployed;
 * it also creates or checks the state dir first ({@link OwnerOnlyDir}: refused when a link, someone else's, or
 * writable by others), so the lock is never opened in a dir another user controls.
 */
public final class StateDirLock implements AutoCloseable {
  public static final String FILE_NAME = "broker.lock";

  /** Another live broker holds the state dir. */
  public static final class HeldElsewhere extends Exception {
    public final String pid;

    HeldElsewhere(String pid, Path dir) {
      super("another broker (pid " + pid + ") is already running for " + dir, null, false, false);
      this.pid = pid;
    }
  }

  private final FileChannel channel;
  private final FileLock lock;

  private StateDirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * @throws StateDirUnsafe the dir or a file in it cannot be trusted (see {@link OwnerOnlyDir}); nothing was written
   * @throws IOException the dir cannot be created or is not a directory (the message names it, the reason and the
   *                     ways to set another)
   */
  public static StateDirLock acquire(Path stateDir) throws IOException, HeldElsewhere {
    OwnerOnlyDir.prepare(stateDir);
    Path file = stateDir.resolve(FILE_NAME);
    FileChannel channel;
    try {
      // Not create-and-rename like the other state files: the lock must stay the one inode every broker opens. A
      // link at its name fails the open (O_NOFOLLOW) instead of truncating whatever it points at.
      channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(AtomicFiles.OWNER_ONLY_FILE)));
    } catch (FileSystemException planted) {
      if (Files.isSymbolicLink(file)) {
        // Planted between the check of the dir and this open.
        OwnerOnlyDir.prepare(stateDir);
      }
      throw planted;
    }
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException sameJvm) {
      lock = null;
    }
    if (lock == null) {
      String pid = readPid(channel);
      channel.close();
      throw new HeldElsewhere(pid, stateDir);
    }
    byte[] pid = String.valueOf(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8);
    channel.truncate(0);
    channel.write(ByteBuffer.wrap(pid), 0);
    channel.force(false);
    return new StateDirLock(channel, lock);
  }

  private static String readPid(FileChannel channel) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(32);
    int read = channel.read(buffer, 0);
    String pid = read <= 0 ? "" : new String(buffer.array(), 0, read, StandardCharsets.UTF_8).trim();
    return pid.isEmpty() ? "unknown" : pid;
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException ignored) {
      // The process is ending; the OS releases the lock regardless.
    }
  }
}
