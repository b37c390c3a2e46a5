package dev.relaybroker.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * One broker per state dir. An OS file lock on {@code <state>/broker.lock} holds the claim, so a broker killed
 * with SIGKILL releases it with its process and the next start takes over at once; the pid written inside only
 * serves the error message. Taken on a worker thread (it is blocking file I/O) before any verticle is deployed;
 * it also creates the state dir, 0700.
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

  public static StateDirLock acquire(Path stateDir) throws IOException, HeldElsewhere {
    if (!Files.isDirectory(stateDir)) {
      Files.createDirectories(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Files.setPosixFilePermissions(stateDir, PosixFilePermissions.fromString("rwx------"));
    Path file = stateDir.resolve(FILE_NAME);
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
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
