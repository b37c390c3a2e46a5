package dev.relaybroker.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;

/**
 * Earlier versions (and the 6.x clients) kept the state in {@code <cwd>/.agent-relay}; the current client line looks
 * in {@code <cwd>/.agentworkforce/relay}. On the first start with the default state dir the old one is moved there,
 * so this installation keeps its identity and credential cache (same agent id, one round trip). Blocking file I/O:
 * run on a worker, before the state-dir lock is taken.
 */
final class StateDirMigration {
  static final String LEGACY_DIR = ".agent-relay";
  private static final Logger LOG = LoggerFactory.getLogger(StateDirMigration.class);
  /** The files that make an installation what it is; the rest (socket, lock, connection.json) are per run. */
  private static final List<String> IDENTITY_FILES = List.of("identity.key", "credentials.json");

  /** Refused: both dirs hold an installation, and they are not the same one. */
  static final class Conflict extends Exception {
    Conflict(String message) {
      super(message, null, false, false);
    }
  }

  private StateDirMigration() {
  }

  /** Moves {@code <cwd>/.agent-relay} to {@code target} when only the old one exists; returns whether it did. */
  static boolean migrate(Path cwd, Path target) throws IOException, Conflict {
    Path legacy = cwd.resolve(LEGACY_DIR).toAbsolutePath().normalize();
    if (!Files.isDirectory(legacy) || legacy.equals(target)) {
      return false;
    }
    if (Files.exists(target)) {
      for (String file : IDENTITY_FILES) {
        Path old = legacy.resolve(file);
        Path current = target.resolve(file);
        if (Files.exists(old) && (!Files.exists(current) || !Arrays.equals(Files.readAllBytes(old), Files.readAllBytes(current)))) {
          throw new Conflict("both " + legacy + " (from an earlier version) and " + target + " hold a broker identity, and they "
            + "differ; keep the one whose agent you want: remove the other, or point --state-dir at it");
        }
      }
      return false; // the old dir is a leftover copy of the same installation
    }
    Files.createDirectories(target.getParent());
    Files.move(legacy, target, StandardCopyOption.ATOMIC_MOVE);
    LOG.info("Moved the state dir of an earlier version from {} to {} (identity and credential cache kept); 6.x clients "
      + "need AGENT_RELAY_STATE_DIR={}", legacy, target, target);
    return true;
  }
}
