package dev.relaybroker.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Which {@code Host} headers name this machine's loopback, and which are IP literals (no rebinding page uses one). */
class LoopbackOnlyTest {
  @Test
  void loopbackNamesAndAddressesWithOrWithoutAPort() {
    assertThat(List.of("localhost", "localhost:8080", "LocalHost", "localhost.", "app.localhost:1", "127.0.0.1", "127.0.0.1:4000",
      "127.255.0.9", "[::1]", "[::1]:4000", "[0:0:0:0:0:0:0:1]:1", "[::ffff:127.0.0.1]:1"))
      .allMatch(LoopbackOnly::isLoopbackHost);
  }

  @Test
  void everythingElseIsNotLoopback() {
    assertThat(List.of("evil.example", "localhost.evil.example", "127.0.0.1.evil.example", "127.0.0.256", "128.0.0.1", "0.0.0.0",
      "[::2]", "[::1", "[::1]x", "localhost:80:80", "localhost:port", "", "127.0.0.1:", "::1"))
      .noneMatch(LoopbackOnly::isLoopbackHost);
  }

  @Test
  void ipLiteralsAreTellableFromNames() {
    assertThat(List.of("192.168.1.20:4000", "10.0.0.1", "[fe80::1]:80")).allMatch(LoopbackOnly::isIpLiteral);
    assertThat(List.of("evil.example", "192.168.1.20.nip.io", "1.2.3")).noneMatch(LoopbackOnly::isIpLiteral);
  }

  @Test
  void aBindAddressIsLoopbackInEveryForm() {
    assertThat(List.of("127.0.0.1", "localhost", "::1", "[::1]")).allMatch(bind -> LoopbackOnly.forBind(bind).loopbackBind());
    assertThat(List.of("0.0.0.0", "192.168.1.20", "::", "fe80::1")).noneMatch(bind -> LoopbackOnly.forBind(bind).loopbackBind());
  }
}
