package dev.relaybroker.identity;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Agent names. An explicit {@code --name} is sent as given (trimmed): the cloud accepts spaces, '/', and
 * non-ASCII, and the broker URL-encodes names in paths. A name derived from the working directory is
 * sanitised so it is stable and shell-friendly: letters, digits, '.', '_' and '-' are kept (Unicode letters and
 * digits included), every other run of characters becomes one '-', leading and trailing '-' or '.' are dropped,
 * it is cut to 64 characters, and an empty result becomes "agent".
 */
public final class AgentNames {
  public static final int MAX_DERIVED_LENGTH = 64;
  private static final SecureRandom RANDOM = new SecureRandom();

  private AgentNames() {
  }

  public static String fromDirectory(Path dir) {
    Path fileName = dir.toAbsolutePath().normalize().getFileName();
    return sanitize(fileName == null ? "" : fileName.toString());
  }

  public static String sanitize(String raw) {
    StringBuilder out = new StringBuilder();
    boolean lastWasDash = false;
    for (int i = 0; i < raw.length(); ) {
      int cp = raw.codePointAt(i);
      i += Character.charCount(cp);
      if (Character.isLetterOrDigit(cp) || cp == '.' || cp == '_' || cp == '-') {
        out.appendCodePoint(cp);
        lastWasDash = cp == '-';
      } else if (!lastWasDash) {
        out.append('-');
        lastWasDash = true;
      }
    }
    String trimmed = out.toString().replaceAll("^[-.]+", "").replaceAll("[-.]+$", "");
    if (trimmed.codePointCount(0, trimmed.length()) > MAX_DERIVED_LENGTH) {
      trimmed = trimmed.substring(0, trimmed.offsetByCodePoints(0, MAX_DERIVED_LENGTH)).replaceAll("[-.]+$", "");
    }
    return trimmed.isEmpty() ? "agent" : trimmed;
  }

  /** The non-strict retry name: {@code <name>-<8 hex>}. */
  public static String withSuffix(String name) {
    byte[] bytes = new byte[4];
    RANDOM.nextBytes(bytes);
    return name + "-" + HexFormat.of().formatHex(bytes);
  }
}
