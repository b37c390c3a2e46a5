package dev.relaybroker.support;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * After every test: no log line of that test holds a whole key or token, and the blocked-thread checker (100 ms
 * in the suite) never fired. Registered for every test of the suite through {@code META-INF/services} and
 * {@code junit-platform.properties} (extension autodetection), so no test class can forget it.
 */
public class SecretsGuard implements BeforeEachCallback, AfterEachCallback {
  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SecretsGuard.class);

  @Override
  public void beforeEach(ExtensionContext context) {
    context.getStore(NS).put("mark", CapturedLogs.mark());
    context.getStore(NS).put("blocked", CapturedLogs.blockedThreadWarnings().size());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    int mark = context.getStore(NS).get("mark", Integer.class);
    int blockedBefore = context.getStore(NS).get("blocked", Integer.class);
    List<String> lines = CapturedLogs.since(mark);
    assertThat(lines).as("log lines holding a whole key or token").noneMatch(l -> CapturedLogs.FULL_SECRET.matcher(l).find());
    List<String> blocked = CapturedLogs.blockedThreadWarnings();
    assertThat(blocked.subList(blockedBefore, blocked.size())).as("blocked-thread warnings").isEmpty();
  }
}
