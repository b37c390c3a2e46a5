package dev.relaybroker.cloud;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Text that came from the cloud (an error message, a close reason, an exception about a response), made fit for a
 * log line, an event or a client: every secret this broker holds is cut out, so is anything shaped like a
 * Relaycast secret, control characters are escaped (no forged log lines, no terminal escapes) and the length is
 * bounded. A cloud that echoes the workspace key or a token back in an error must not get it into stderr, the
 * {@code /ws} journal or {@code refresh_error}.
 *
 * <p>An instance remembers the secrets it was shown (the credentials a client sent, the tokens it decoded), the
 * last {@value #REMEMBERED} of them; {@link #shapesOnly()} knows none and still cuts every secret-shaped word.
 */
public final class CloudText {
  public static final String REDACTED = "[redacted]";
  static final int MAX_LENGTH = 200;
  private static final int REMEMBERED = 32;
  /** Shorter values are not secrets worth the false positives of cutting them out of text. */
  private static final int MIN_SECRET_LENGTH = 8;
  /**
   * Relaycast workspace keys and agent tokens ({@code rk_live_…}, {@code rk_test_…}, {@code at_live_…}) and the
   * local API key ({@code br_…}), as words: whatever follows the prefix up to a character no token holds.
   */
  private static final Pattern SECRET_SHAPE = Pattern.compile(
    "(?<![A-Za-z0-9])(?:(?:rk|at)_(?:live|test)_[A-Za-z0-9._~+/=-]*|(?:rk|at|br)_[A-Za-z0-9._~+/=-]{12,})");

  private static final Pattern PREFIX = Pattern.compile("[a-z]{2}_(?:live|test)_(.+)");

  private final Deque<String> secrets = new ArrayDeque<>();

  /** Knows no secret by value; still cuts anything secret-shaped. */
  public static CloudText shapesOnly() {
    return new CloudText();
  }

  /**
   * Remembers {@code secret} (a credential sent or a token received) so that it is cut from any later text; for
   * a Relaycast secret, its random part after {@code rk_live_} too, which is as good as the whole to an attacker.
   */
  public synchronized CloudText remember(String secret) {
    if (secret == null) {
      return this;
    }
    java.util.regex.Matcher prefixed = PREFIX.matcher(secret);
    if (prefixed.matches()) {
      keep(prefixed.group(1));
    }
    keep(secret);
    return this;
  }

  private void keep(String secret) {
    if (secret.length() >= MIN_SECRET_LENGTH && !secrets.contains(secret)) {
      secrets.addFirst(secret);
      if (secrets.size() > REMEMBERED) {
        secrets.removeLast();
      }
    }
  }

  /** {@code text} with every secret cut, control characters escaped, at most {@value #MAX_LENGTH} characters. */
  public String clean(String text) {
    if (text == null) {
      return "";
    }
    String redacted = text;
    for (String secret : known()) {
      redacted = redacted.replace(secret, REDACTED);
    }
    redacted = SECRET_SHAPE.matcher(redacted).replaceAll(REDACTED);
    String escaped = escapeControls(redacted);
    if (escaped.length() <= MAX_LENGTH) {
      return escaped;
    }
    // Cut, then cut again any secret the cut split in two (its prefix alone would still match a shape).
    return SECRET_SHAPE.matcher(escaped.substring(0, MAX_LENGTH)).replaceAll(REDACTED) + "…";
  }

  /** Longest first, so a whole secret is cut before a part of it is. */
  private synchronized List<String> known() {
    List<String> known = new ArrayList<>(secrets);
    known.sort(java.util.Comparator.comparingInt(String::length).reversed());
    return known;
  }

  /**
   * C0 and C1 controls, DEL, line and paragraph separators and bidirectional overrides become visible escapes:
   * {@code \n}, {@code \r}, {@code \t} or {@code \u001b}. Nothing the cloud sends can start a new log line,
   * colour a terminal or reorder what a person reads.
   */
  public static String escapeControls(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      String escape = escapeOf(c);
      if (escape != null && out == null) {
        out = new StringBuilder(text.length() + 16).append(text, 0, i);
      }
      if (out != null) {
        if (escape != null) {
          out.append(escape);
        } else {
          out.append(c);
        }
      }
    }
    return out == null ? text : out.toString();
  }

  private static String escapeOf(char c) {
    return switch (c) {
      case '\n' -> "\\n";
      case '\r' -> "\\r";
      case '\t' -> "\\t";
      default -> isUnsafe(c) ? String.format("\\u%04x", (int) c) : null;
    };
  }

  /** A character no name, id or message from the cloud may carry raw. */
  static boolean isUnsafe(char c) {
    return Character.isISOControl(c)
      || c == '\u2028' || c == '\u2029'
      || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069');
  }
}
