package dev.relaybroker.cloud;

/** The answer to {@code POST /v1/agents/{name}/rotate-token}. */
public record RotatedToken(String name, String token) {
  @Override
  public String toString() {
    return "RotatedToken[name=" + name + "]";
  }
}
