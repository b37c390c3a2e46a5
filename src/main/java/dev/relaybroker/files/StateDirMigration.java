package dev.relaybroker.files;

import dev.relaybroker.config.ProjectLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;

/**
 * Earlier versions (and brokers spawned for 6.x clients with {@code AGENT_RELAY_STATE_DIR=<project>/.agent-relay})
 * kept a project's identity in {@code <project>/.agent-relay}; the one state dir of a project is now
 * {@code <project>/.agentworkforce/relay} (see {@link ProjectLayout}). On the first start the identity files are
 * brought over, so the installation keeps its agent (same agent id, one round trip). Only the broker's own files
 * move: {@code .agent-relay} stays, for the 6.x client's own files and the discovery {@code connection.json} the
 * broker leaves there. Blocking file I/O: run on a worker, before the state-dir lock is taken.
 */
public final class StateDirMigration {
  private static final Logger LOG = LoggerFactory.getLogger(StateDirMigration.class);
  /** The files that make an installation what it is; the rest (socket, lock, connection.json) are per run. */
  private static final List<String> IDENTITY_FILES = List.of("identity.key", "credentials.json");
  /** Moved with them when present: the embedded emulator's workspace, which the credentials refer to. */
  private static final List<String> MOVED_FILES = List.of("identity.key", "credentials.json", "emulator-state.json");

  /** Refused: both dirs hold an installation, and they are not the same one. */
  public static final class Conflict extends Exception {
    Conflict(String message) {
      super(message, null, false, false);
    }
  }

  private StateDirMigration() {
  }

  /**
   * Brings the identity of {@code <project>/.agent-relay} into {@code target}, the project's state dir, when only
   * the old place holds one; returns whether it did.
   */
  public static boolean migrate(Path target) throws IOException, Conflict {
    Path legacy = ProjectLayout.legacyDirOf(target);
    if (legacy == null || !Files.isDirectory(legacy, LinkOption.NOFOLLOW_LINKS)
      || IDENTITY_FILES.stream().noneMatch(f -> Files.isRegularFile(legacy.resolve(f), LinkOption.NOFOLLOW_LINKS))) {
      return false;
    }
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      for (String file : IDENTITY_FILES) {
        Path old = legacy.resolve(file);
        Path current = target.resolve(file);
        if (Files.isRegularFile(old, LinkOption.NOFOLLOW_LINKS) && (!Files.isRegularFile(current, LinkOption.NOFOLLOW_LINKS)
          || !Arrays.equals(Files.readAllBytes(old), Files.readAllBytes(current)))) {
          throw new Conflict("both " + legacy + " (an earlier version's, or a 6.x client's) and " + target + " hold a broker "
            + "identity, and they differ; keep the one whose agent you want: remove the other's identity.key and "
            + "credentials.json, or point --state-dir at a dir of its own");
        }
      }
      removeCopies(legacy);
      return false; // the old files were a leftover copy of the same installation
    }
    // Into a temp dir beside the target, then one atomic rename: a start killed half-way leaves either no target
    // (the next start does it again) or a whole one, never a target with half an identity.
    Files.createDirectories(target.getParent());
    Path staging = Files.createTempDirectory(target.getParent(), "relay.migrating-",
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    for (String file : MOVED_FILES) {
      Path old = legacy.resolve(file);
      if (Files.isRegularFile(old, LinkOption.NOFOLLOW_LINKS)) {
        Files.copy(old, staging.resolve(file), StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
      }
    }
    Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    removeCopies(legacy);
    LOG.info("Brought this project's broker identity from {} to {} (same agent; 6.x and current clients both find "
      + "the broker, no AGENT_RELAY_STATE_DIR needed)", legacy, target);
    return true;
  }

  /** The old copies go, so that nothing can later take them for a second installation. */
  private static void removeCopies(Path legacy) throws IOException {
    for (String file : MOVED_FILES) {
      Files.deleteIfExists(legacy.resolve(file));
    }
  }
}
