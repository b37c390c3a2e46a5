package dev.relaybroker.bus;

import java.util.regex.Pattern;

/**
 * The event-bus addresses of one broker. Unnamed (the default, and the command line's): exactly the SPEC's names
 * in {@link Addresses}, which existing consumers depend on. Named ({@code BrokerOptions.setBusName}): the same names
 * with {@code .<name>} appended, so several brokers can run in one Vert.x without answering each other's requests.
 */
public record BrokerBus(String name) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");

  /** The SPEC's addresses. */
  public static final BrokerBus DEFAULT = new BrokerBus(null);

  public static BrokerBus of(String name) {
    return name == null ? DEFAULT : new BrokerBus(name);
  }

  /** Null when fine, else why not. */
  public static String problem(String name) {
    return name == null || NAME.matcher(name).matches() ? null
      : "busName must be 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit, got '" + name + "'";
  }

  private String scoped(String address) {
    return name == null ? address : address + "." + name;
  }

  public String sessionState() { return scoped(Addresses.SESSION_STATE); }
  public String sessionResolved() { return scoped(Addresses.SESSION_RESOLVED); }
  public String sessionGet() { return scoped(Addresses.SESSION_GET); }
  public String sessionRefresh() { return scoped(Addresses.SESSION_REFRESH); }
  public String sessionSnapshot() { return scoped(Addresses.SESSION_SNAPSHOT); }
  public String presenceState() { return scoped(Addresses.PRESENCE_STATE); }
  public String identitySuperseded() { return scoped(Addresses.IDENTITY_SUPERSEDED); }
  public String identityTokenRefused() { return scoped(Addresses.IDENTITY_TOKEN_REFUSED); }
  public String presenceCheckRefusal() { return scoped(Addresses.PRESENCE_CHECK_REFUSAL); }
  public String events() { return scoped(Addresses.EVENTS); }
  public String brokerShutdown() { return scoped(Addresses.BROKER_SHUTDOWN); }
  public String leaseRenew() { return scoped(Addresses.LEASE_RENEW); }
}
