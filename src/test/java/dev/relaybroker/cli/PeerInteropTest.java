package dev.relaybroker.cli;

import dev.relaybroker.support.BrokerProcess;
import dev.relaybroker.support.BrokerProcesses;
import dev.relaybroker.support.PeerBinary;
import dev.relaybroker.support.PeerBinary.Answer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The identity proof interoperates with the published Rust broker 12.4.1 (its real binary) in one workspace of the
 * emulator: given the same {@code RELAY_AGENT_IDENTITY_KEY}, each broker reclaims the agent the other registered;
 * given different keys, each refuses the other's live record with the same code, {@code agent_identity_mismatch}.
 */
class PeerInteropTest {
  @TempDir
  Path tmp;

  /** The emulator, its workspace and every process started, closed after each test. */
  @RegisterExtension
  final BrokerProcesses cloud = new BrokerProcesses();

  @BeforeAll
  static void installThePeer() throws Exception {
    PeerBinary.install();
  }

  private BrokerProcess ours(String dir, String name, String identityKey) throws Exception {
    Path cwd = Files.createDirectories(tmp.resolve(dir));
    BrokerProcess broker = cloud.exec(cwd, PeerBinary.environment(cloud.emulator().baseUrl(), cloud.key(), identityKey),
      BrokerProcess.command(PeerBinary.initArguments(name, true).toArray(String[]::new)));
    return broker;
  }

  private BrokerProcess rust(String dir, String name, String identityKey) throws Exception {
    Path cwd = Files.createDirectories(tmp.resolve(dir));
    BrokerProcess broker = cloud.adopt(PeerBinary.start(cwd, PeerBinary.environment(cloud.emulator().baseUrl(), cloud.key(), identityKey), name, true));
    return broker;
  }

  @Test
  void withTheSameIdentityKeyEachBrokerReclaimsTheAgentTheOtherRegistered() throws Exception {
    // Ours registers X; the Rust broker, same key, starts as X while ours still holds it.
    BrokerProcess oursX = ours("ours-x", "x", "shared-identity");
    PeerBinary.awaitSession(PeerBinary.url(oursX), oursX);
    JsonObject x = cloud.emulator().agent(cloud.key(), "x");
    assertThat(x.getJsonObject("metadata").getString("identity_key")).as("what 12.4.1 writes for the same key")
      .isEqualTo(sha256Hex("shared-identity"));

    BrokerProcess rustX = rust("rust-x", "x", "shared-identity");
    PeerBinary.awaitSession(PeerBinary.url(rustX), rustX);

    assertThat(cloud.emulator().requestLines()).contains("POST /v1/agents/x/takeover workspace-key 200");
    assertThat(cloud.emulator().agent(cloud.key(), "x").getString("id")).as("the same agent, reclaimed").isEqualTo(x.getString("id"));

    // And back: the Rust broker registers Y; ours, same key, fresh state dir (no cache), starts as Y.
    BrokerProcess rustY = rust("rust-y", "y", "shared-identity");
    PeerBinary.awaitSession(PeerBinary.url(rustY), rustY);
    JsonObject y = cloud.emulator().agent(cloud.key(), "y");
    assertThat(y.getJsonObject("metadata").getString("identity_key")).isEqualTo(sha256Hex("shared-identity"));

    BrokerProcess oursY = ours("ours-y", "y", "shared-identity");
    JsonObject session = PeerBinary.awaitSession(PeerBinary.url(oursY), oursY);

    assertThat(session.getJsonObject("agent").getString("id")).isEqualTo(y.getString("id"));
    assertThat(cloud.emulator().requestLines()).contains("POST /v1/agents/y/takeover workspace-key 200");
  }

  @Test
  void withDifferentIdentityKeysEachBrokerRefusesTheOthersLiveRecordWithOneCode() throws Exception {
    // Ours holds X (live: its realtime connection is open); the Rust broker with another key refuses it and exits.
    BrokerProcess oursX = ours("ours-x", "x", "key-of-ours");
    PeerBinary.awaitSession(PeerBinary.url(oursX), oursX);
    String tokenOfOurs = cloud.emulator().agent(cloud.key(), "x").getString("token");

    BrokerProcess rustX = rust("rust-x", "x", "key-of-rust");

    assertThat(rustX.awaitExit()).isNotZero();
    assertThat(String.join("\n", rustX.stderr())).contains("code: agent_identity_mismatch");
    assertThat(cloud.emulator().agent(cloud.key(), "x").getString("token")).as("nothing was taken").isEqualTo(tokenOfOurs);

    // The Rust broker holds Y. It keeps no realtime connection to this emulator (its delivery runs on the node plane,
    // which the emulator does not serve), so the record is marked live as the cloud shows a connected broker.
    BrokerProcess rustY = rust("rust-y", "y", "key-of-rust");
    PeerBinary.awaitSession(PeerBinary.url(rustY), rustY);
    cloud.emulator().setStatus(cloud.key(), "y", "online");
    String tokenOfRust = cloud.emulator().agent(cloud.key(), "y").getString("token");

    BrokerProcess oursY = ours("ours-y", "y", "key-of-ours");
    String url = PeerBinary.url(oursY);
    Answer refused = awaitRefusal(url);

    assertThat(refused.status()).isEqualTo(502);
    assertThat(refused.json().getString("code")).isEqualTo("agent_identity_mismatch");
    assertThat(refused.json().getString("message")).contains("agent name 'y'").contains("RELAY_AGENT_IDENTITY_KEY");
    assertThat(cloud.emulator().agent(cloud.key(), "y").getString("token")).as("nothing was taken").isEqualTo(tokenOfRust);
    assertThat(cloud.emulator().requestLines()).noneMatch(line -> line.startsWith("POST /v1/agents/y/takeover"));
  }

  private static Answer awaitRefusal(String url) {
    for (int i = 0; i < 100; i++) {
      Answer answer = PeerBinary.call(url, "GET", "/api/session?wait=0", true);
      if (answer.status() != 503) {
        return answer;
      }
      PeerBinary.sleep(200);
    }
    throw new AssertionError("the broker never settled");
  }

  private static String sha256Hex(String key) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
      .digest(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

}
