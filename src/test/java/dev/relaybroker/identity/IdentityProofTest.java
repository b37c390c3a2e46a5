package dev.relaybroker.identity;

import dev.relaybroker.support.EmulatorDriver;
import dev.relaybroker.support.EmulatorWorkspace;
import dev.relaybroker.support.Machine;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The identity proof in the published broker's words (SPEC §7): {@code metadata.identity_key}, SHA-256 hex, read
 * back to decide whose a record is, and {@code agent_identity_mismatch} for a refused record with another owner's
 * key. The same facts against the real 12.4.1 binary are in {@code cli.PeerInteropTest}.
 */
class IdentityProofTest {
  @TempDir
  Path stateDir;

  private EmulatorDriver emulator;
  private String key;

  @RegisterExtension
  final EmulatorWorkspace cloud = new EmulatorWorkspace();

  @BeforeEach
  void startEmulator() {
    emulator = cloud.emulator();
    key = cloud.key();
  }

  private Machine start(String name) {
    return cloud.start(Machine.options(emulator, key, name, stateDir));
  }

  @Test
  void anIdentityKeyHashesLikeTheRustBroker() {
    Vertx vertx = Vertx.vertx();
    try {
      // Measured: 12.4.1 with RELAY_AGENT_IDENTITY_KEY=abc registers this identity_key.
      IdentitySecret secret = await(IdentitySecret.loadOrCreate(vertx, stateDir, "abc"));

      assertThat(new IdentityProof(secret).registrationMetadata().getString("identity_key"))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      assertThat(secret.source()).isEqualTo("RELAY_AGENT_IDENTITY_KEY");
      assertThat(stateDir.resolve(IdentitySecret.FILE_NAME)).as("a given key writes no file").doesNotExist();
    } finally {
      vertx.close();
    }
  }

  @Test
  void registrationStampsIdentityKeyAsTheHashOfThisInstallationsKey() throws Exception {
    start("alpha").awaitReady();

    JsonObject metadata = emulator.agent(key, "alpha").getJsonObject("metadata");
    String expected = IdentitySecret.sha256Hex(Files.readAllBytes(stateDir.resolve(IdentitySecret.FILE_NAME)));
    assertThat(metadata.getString("identity_key")).isEqualTo(expected);
    assertThat(metadata.getString("relay_broker_identity")).as("still written for earlier versions").isEqualTo(expected);
  }

  @Test
  void aLiveRecordWithThisKeysIdentityKeyIsTakenBackByReclaimOwnAndNeverByTheDefault() throws Exception {
    Vertx vertx = Vertx.vertx();
    String hash;
    try {
      hash = await(IdentitySecret.loadOrCreate(vertx, stateDir, null)).hash();
    } finally {
      vertx.close();
    }
    // As a Rust broker given the same identity key leaves it: identity_key only, and live.
    JsonObject rusts = emulator.createAgent(key, "alpha", new JsonObject().put("identity_key", hash), "online");

    // The default policy never seizes a live agent, even its own; --reclaim own takes back its own, as 12.4.1 does.
    Machine byDefault = start("alpha");
    assertThat(byDefault.awaitFailed().getString("cause")).isEqualTo("agent_live_elsewhere");
    cloud.stop(byDefault);
    Machine own = cloud.start(Machine.options(emulator, key, "alpha", stateDir).setReclaim(dev.relaybroker.config.ReclaimPolicy.OWN));
    JsonObject session = own.awaitReady();

    assertThat(session.getString("agentId")).isEqualTo(rusts.getString("id"));
    assertThat(emulator.requestLines()).contains("POST /v1/agents/alpha/takeover workspace-key 200");
  }

  @Test
  void aLiveRecordWithAnotherIdentityKeyIsRefusedWithTheRustBrokersCode() {
    JsonObject foreign = emulator.createAgent(key, "alpha", new JsonObject().put("identity_key", "e".repeat(64)), "online");

    JsonObject failed = start("alpha").awaitFailed();

    assertThat(failed.getString("cause")).isEqualTo("agent_identity_mismatch");
    assertThat(failed.getString("message")).contains("agent name 'alpha' is live on another machine")
      .contains("--reclaim always").contains("RELAY_AGENT_IDENTITY_KEY").doesNotContain("e".repeat(64));
    assertThat(emulator.requestLines()).noneMatch(line -> line.contains("takeover"));
    assertThat(emulator.agent(key, "alpha").getString("token")).isEqualTo(foreign.getString("token"));
  }
}
