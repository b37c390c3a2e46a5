package dev.relaybroker.cli;

import dev.relaybroker.BrokerApplication;
import dev.relaybroker.files.StateDirLock;

import dev.relaybroker.files.AtomicFiles;
import dev.relaybroker.files.StateDirUnsafe;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The state dir as another local user would attack it (issue 22, finding 1): links planted at the lock and at every
 * state file, a linked dir, a dir someone else owns or can write, files left readable by others. The broker must
 * neither write through a link nor start in a dir it cannot trust, and must say what to fix. The suite runs as
 * root, so "someone else" is uid 65534 (chown), which is how a foreign owner looks to the broker.
 */
class StateDirAttackTest {
  @TempDir
  Path home;
  private Path stateDir;
  /** A file of the victim's outside the state dir, which a planted link points at. */
  private Path dotfile;

  @BeforeEach
  void victim() throws Exception {
    stateDir = home.resolve("state");
    dotfile = home.resolve(".bashrc");
    Files.writeString(dotfile, "export PATH=$HOME/bin:$PATH\n");
    Files.setPosixFilePermissions(dotfile, PosixFilePermissions.fromString("rw-r--r--"));
  }

  @AfterEach
  void dotfileUntouched() throws Exception {
    assertThat(Files.readString(dotfile)).isEqualTo("export PATH=$HOME/bin:$PATH\n");
    assertThat(mode(dotfile)).isEqualTo("rw-r--r--");
  }

  @Test
  void aLinkPlantedAtTheLockIsNeitherFollowedNorTruncated() throws Exception {
    Files.createDirectory(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.createSymbolicLink(stateDir.resolve(StateDirLock.FILE_NAME), dotfile);

    assertThatThrownBy(() -> StateDirLock.acquire(stateDir))
      .isInstanceOf(StateDirUnsafe.class)
      .hasMessageContaining(stateDir.resolve(StateDirLock.FILE_NAME).toString())
      .hasMessageContaining("symbolic link")
      .hasMessageContaining("remove it");
  }

  @ParameterizedTest
  @ValueSource(strings = {"identity.key", "credentials.json", "emulator-state.json", "connection.json", ".gitignore", "broker.sock"})
  void aLinkPlantedAtAnyStateFileRefusesTheStart(String name) throws Exception {
    Files.createDirectory(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.createSymbolicLink(stateDir.resolve(name), dotfile);

    assertThatThrownBy(() -> StateDirLock.acquire(stateDir).close())
      .isInstanceOf(StateDirUnsafe.class)
      .hasMessageContaining(stateDir.resolve(name).toString())
      .hasMessageContaining("symbolic link");
  }

  @Test
  void aStateDirThatIsALinkIsRefused() throws Exception {
    Path elsewhere = Files.createDirectory(home.resolve("elsewhere"));
    Files.setPosixFilePermissions(elsewhere, PosixFilePermissions.fromString("rwx------"));
    Files.createSymbolicLink(stateDir, elsewhere);

    assertThatThrownBy(() -> StateDirLock.acquire(stateDir).close())
      .isInstanceOf(StateDirUnsafe.class)
      .hasMessageContaining(stateDir.toString())
      .hasMessageContaining("symbolic link")
      .hasMessageContaining("--state-dir");
    try (var files = Files.list(elsewhere)) {
      assertThat(files).as("nothing written through the link").isEmpty();
    }
  }

  @Test
  void anExistingStateDirWritableByOthersIsRefusedNotTightened() throws Exception {
    Files.createDirectory(stateDir);
    Files.setPosixFilePermissions(stateDir, PosixFilePermissions.fromString("rwxrwxrwx"));

    assertThatThrownBy(() -> StateDirLock.acquire(stateDir).close())
      .isInstanceOf(StateDirUnsafe.class)
      .hasMessageContaining(stateDir.toString())
      .hasMessageContaining("writable by others")
      .hasMessageContaining("chmod 700");
    assertThat(stateDir.resolve(StateDirLock.FILE_NAME)).doesNotExist();
  }

  @Test
  void anExistingStateDirWritableByItsGroupIsRefused() throws Exception {
    Files.createDirectory(stateDir);
    Files.setPosixFilePermissions(stateDir, PosixFilePermissions.fromString("rwxrwx---"));

    assertThatThrownBy(() -> StateDirLock.acquire(stateDir).close())
      .isInstanceOf(StateDirUnsafe.class)
      .hasMessageContaining("writable by its group");
  }

  @Test
  void aStateDirOwnedBySomeoneElseIsRefused() throws Exception {
    Files.createDirectory(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.setAttribute(stateDir, "unix:uid", 65534);

    assertThatThrownBy(() -> StateDirLock.acquire(stateDir).close())
      .isInstanceOf(StateDirUnsafe.class)
      .hasMessageContaining(stateDir.toString())
      .hasMessageContaining("owned by uid 65534");
    assertThat(stateDir.resolve(StateDirLock.FILE_NAME)).doesNotExist();
  }

  @Test
  void aStateFileOwnedBySomeoneElseIsRefused() throws Exception {
    Files.createDirectory(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path planted = Files.writeString(stateDir.resolve("credentials.json"), "{}");
    Files.setAttribute(planted, "unix:uid", 65534);

    assertThatThrownBy(() -> StateDirLock.acquire(stateDir).close())
      .isInstanceOf(StateDirUnsafe.class)
      .hasMessageContaining(planted.toString())
      .hasMessageContaining("owned by uid 65534");
  }

  @Test
  void filesFoundReadableByOthersAreBroughtToOwnerOnly() throws Exception {
    Files.createDirectory(stateDir);
    Files.setPosixFilePermissions(stateDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    for (String name : new String[] {"identity.key", "emulator-state.json", "credentials.json", StateDirLock.FILE_NAME}) {
      Files.writeString(stateDir.resolve(name), "x");
      Files.setPosixFilePermissions(stateDir.resolve(name), PosixFilePermissions.fromString("rw-r--r--"));
    }

    try (StateDirLock lock = StateDirLock.acquire(stateDir)) {
      assertThat(mode(stateDir)).isEqualTo("rwx------");
      for (String name : new String[] {"identity.key", "emulator-state.json", "credentials.json", StateDirLock.FILE_NAME}) {
        assertThat(mode(stateDir.resolve(name))).as(name).isEqualTo("rw-------");
      }
    }
  }

  @Test
  void aNewStateDirIsOwnerOnlyAndKeepsItselfOutOfGit() throws Exception {
    try (StateDirLock lock = StateDirLock.acquire(stateDir.resolve("nested"))) {
      Path dir = stateDir.resolve("nested");
      assertThat(mode(dir)).isEqualTo("rwx------");
      assertThat(Files.readString(dir.resolve(".gitignore"))).isEqualTo("*\n");
      assertThat(mode(dir.resolve(".gitignore"))).isEqualTo("rw-------");
      assertThat(mode(dir.resolve(StateDirLock.FILE_NAME))).isEqualTo("rw-------");
    }
  }

  @Test
  void aStateDirThatIsAFileSaysSoAndNamesTheWaysToSetIt() throws Exception {
    Files.writeString(stateDir, "not a dir");

    assertThatThrownBy(() -> StateDirLock.acquire(stateDir).close())
      .hasMessageContaining("state dir " + stateDir)
      .hasMessageContaining("not a directory")
      .hasMessageContaining("--state-dir")
      .hasMessageContaining("AGENT_RELAY_STATE_DIR");
  }

  @Test
  void aStateDirThatCannotBeCreatedSaysWhy() throws Exception {
    Files.writeString(home.resolve("file"), "a file, not a parent");
    Path below = home.resolve("file").resolve("state");

    assertThatThrownBy(() -> StateDirLock.acquire(below).close())
      .hasMessageContaining("state dir " + below)
      .hasMessageContaining("not a directory")
      .hasMessageContaining("--state-dir")
      .hasMessageContaining("AGENT_RELAY_STATE_DIR");
  }

  @Test
  void anAtomicWriteReplacesALinkAtItsTargetInsteadOfWritingThroughIt() throws Exception {
    Files.createDirectory(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path target = stateDir.resolve("credentials.json");
    Files.createSymbolicLink(target, dotfile);
    Vertx vertx = Vertx.vertx();
    try {
      vertx.executeBlocking(() -> null).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      AtomicFiles.writeOwnerOnly(vertx, target.toString(), Buffer.buffer("{\"a\":1}"))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    assertThat(Files.isSymbolicLink(target)).isFalse();
    assertThat(Files.readString(target)).isEqualTo("{\"a\":1}");
    assertThat(mode(target)).isEqualTo("rw-------");
  }

  @Test
  void aReadThroughALinkIsRefused() throws Exception {
    Files.createDirectory(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path link = stateDir.resolve("identity.key");
    Files.createSymbolicLink(link, dotfile);
    Vertx vertx = Vertx.vertx();
    try {
      Throwable failure = vertx.executeBlocking(() -> null)
        .compose(v -> AtomicFiles.readNoFollow(vertx, link.toString()))
        .transform(done -> io.vertx.core.Future.succeededFuture(done.cause()))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(failure).isInstanceOf(StateDirUnsafe.class).hasMessageContaining("symbolic link");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aBrokerStartedOnAnUnsafeStateDirFailsWithTheTypedRefusalAndDeploysNothing() throws Exception {
    Files.createDirectory(stateDir);
    Files.setPosixFilePermissions(stateDir, PosixFilePermissions.fromString("rwxrwxrwx"));
    Vertx vertx = Vertx.vertx();
    try {
      Throwable refused = BrokerApplication.start(vertx, new dev.relaybroker.config.BrokerOptions().setName("alpha")
          .setStateDir(stateDir.toString()).setEmbeddedEmulator(true))
        .transform(done -> io.vertx.core.Future.succeededFuture(done.cause()))
        .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
      // Main maps this type to exit 2 with its message: the path, the reason and the fix.
      assertThat(refused).isInstanceOf(StateDirUnsafe.class).hasMessageContaining("chmod 700 " + stateDir);
      assertThat(vertx.deploymentIDs()).isEmpty();
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static String mode(Path path) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
  }
}
