package dev.relaybroker.files;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The state dir, or a file in it, is not safe to use: a symbolic link, owned by someone else, writable by others,
 * or a special file. The broker refuses to start (exit 2) rather than write a key or a token where another local
 * user could read it or redirect it. The message names the path, the reason and the fix, for a person to act on.
 */
public final class StateDirUnsafe extends IOException {
  private final transient Path path;

  StateDirUnsafe(Path path, String reason, String fix) {
    super("refusing to use " + path + ": " + reason + "; " + fix);
    this.path = path;
  }

  /** The dir or file that was refused. */
  public Path path() {
    return path;
  }
}
