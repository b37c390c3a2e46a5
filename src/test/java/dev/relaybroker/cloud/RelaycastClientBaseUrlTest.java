package dev.relaybroker.cloud;

import dev.relaybroker.config.CloudOptions;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;

import static dev.relaybroker.support.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/** The client's base URL, with or without a trailing slash, so paths never start with "//" (no call is made). */
class RelaycastClientBaseUrlTest {
  @Test
  void aTrailingSlashIsDroppedAndNothingElse() {
    Vertx vertx = Vertx.vertx();
    try {
      assertThat(new RelaycastClient(vertx, "https://api.example/", new CloudOptions()).baseUrl()).isEqualTo("https://api.example");
      assertThat(new RelaycastClient(vertx, "https://api.example", new CloudOptions()).baseUrl()).isEqualTo("https://api.example");
    } finally {
      await(vertx.close());
    }
  }
}
