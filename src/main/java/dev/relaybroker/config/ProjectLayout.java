package dev.relaybroker.config;

import java.nio.file.Path;

/**
 * Where a project's broker keeps its state, whichever client line asks. The current clients (harness-driver 9.x)
 * look in {@code <project>/.agentworkforce/relay}; the 6.x clients ({@code @agent-relay/sdk} 6.x) look in
 * {@code <project>/.agent-relay}, and the README once told their users to point {@code AGENT_RELAY_STATE_DIR}
 * there. Both names mean the same project, so both resolve to the one state dir, and the broker leaves a
 * discovery-only {@code connection.json} in the 6.x place: one project, one identity.
 */
public final class ProjectLayout {
  /** The 6.x clients' dir under a project. */
  public static final String LEGACY_DIR_NAME = ".agent-relay";
  /** The current clients' dir under a project. */
  public static final String STATE_DIR_NAME = ".agentworkforce/relay";

  private ProjectLayout() {
  }

  /** The state dir a configured (or default) dir stands for: a project's {@code .agent-relay} is its current dir. */
  public static Path stateDir(Path configured) {
    Path dir = configured.toAbsolutePath().normalize();
    Path name = dir.getFileName();
    if (name != null && name.toString().equals(LEGACY_DIR_NAME) && dir.getParent() != null) {
      return dir.getParent().resolve(STATE_DIR_NAME);
    }
    return dir;
  }

  /**
   * The 6.x clients' dir of the project whose state dir this is, or null when the state dir is not a project's
   * current dir (an explicit {@code --state-dir /var/lib/relay}: no 6.x client looks there).
   */
  public static Path legacyDirOf(Path stateDir) {
    Path dir = stateDir.toAbsolutePath().normalize();
    Path parent = dir.getParent();
    if (parent == null || parent.getParent() == null || !dir.endsWith(STATE_DIR_NAME)) {
      return null;
    }
    return parent.getParent().resolve(LEGACY_DIR_NAME);
  }
}
