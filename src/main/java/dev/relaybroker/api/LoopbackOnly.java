package dev.relaybroker.api;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The local API answers only requests addressed to itself, checked before any route. DNS rebinding: a web page
 * at {@code evil.example} re-points its own name at 127.0.0.1 and reads {@code http://evil.example:PORT/health}
 * from the victim's browser; the connection is to loopback, but the {@code Host} header still says
 * {@code evil.example}. So a {@code Host} that is not a loopback name or address is refused with 421 (the request
 * reached a server it was not meant for). The Unix socket is out of a browser's reach and takes any {@code Host}.
 * A broker bound to a non-loopback address on purpose also takes IP literals (a rebinding page always uses a name).
 *
 * <p>{@code CONNECT} and {@code OPTIONS *} have no route here: a plain 405, and the connection closed, before the
 * router (which has no path to match them with) could log an error for each.
 */
final class LoopbackOnly {
  private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
  private static final Pattern PORT = Pattern.compile("\\d{1,5}");

  private final boolean loopbackBind;

  LoopbackOnly(boolean loopbackBind) {
    this.loopbackBind = loopbackBind;
  }

  /** For a server bound to {@code bind} ({@code 127.0.0.1}, {@code ::1}, {@code 0.0.0.0}, …). */
  static LoopbackOnly forBind(String bind) {
    boolean bareV6 = bind.contains(":") && !bind.startsWith("[");
    return new LoopbackOnly(isLoopbackHost(bareV6 ? "[" + bind + "]" : bind));
  }

  /** Whether the server listens on loopback only (then an IP literal of another host is refused too). */
  boolean loopbackBind() {
    return loopbackBind;
  }

  /** True when the request may go on to the routes; otherwise it has been answered. */
  boolean admit(HttpServerRequest request) {
    if (request.method() == HttpMethod.CONNECT || "*".equals(request.uri())) {
      request.response().setStatusCode(405).putHeader(HttpHeaders.CONNECTION, "close")
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
        .end(request.method() + " " + request.uri() + " is not served here\n")
        .onComplete(v -> request.connection().close());
      return false;
    }
    SocketAddress local = request.localAddress();
    if (local != null && local.isDomainSocket()) {
      return true;
    }
    String host = request.getHeader(HttpHeaders.HOST);
    if (host != null && (isLoopbackHost(host) || (!loopbackBind && isIpLiteral(host)))) {
      return true;
    }
    request.response().setStatusCode(421).putHeader(HttpHeaders.CONNECTION, "close")
      .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
      .end(LocalApiVerticle.errorBody(421, "misdirected_request", "this broker answers only requests addressed to "
        + "localhost or a loopback address (Host: 127.0.0.1:PORT); a request by another name, as from a web page, is refused",
        false).encode());
    return false;
  }

  /** {@code localhost}, {@code *.localhost}, 127.0.0.0/8, {@code [::1]}, with or without a port. */
  static boolean isLoopbackHost(String hostHeader) {
    String host = withoutPort(hostHeader.trim().toLowerCase(Locale.ROOT));
    if (host == null) {
      return false;
    }
    if (host.startsWith("[")) {
      String v6 = host.substring(1, host.length() - 1);
      return v6.equals("::1") || v6.equals("0:0:0:0:0:0:0:1") || (v6.startsWith("::ffff:") && isIpv4Loopback(v6.substring(7)));
    }
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    // Browsers resolve *.localhost to loopback themselves (RFC 6761): no page can re-point such a name.
    return host.equals("localhost") || host.endsWith(".localhost") || isIpv4Loopback(host);
  }

  static boolean isIpLiteral(String hostHeader) {
    String host = withoutPort(hostHeader.trim().toLowerCase(Locale.ROOT));
    return host != null && (host.startsWith("[") || isIpv4(host));
  }

  /** The host part; null when the header is not {@code host[:port]} or {@code [v6][:port]}. */
  private static String withoutPort(String header) {
    if (header.startsWith("[")) {
      int end = header.indexOf(']');
      if (end < 0) {
        return null;
      }
      String rest = header.substring(end + 1);
      return rest.isEmpty() || (rest.startsWith(":") && PORT.matcher(rest.substring(1)).matches()) ? header.substring(0, end + 1) : null;
    }
    int colon = header.indexOf(':');
    if (colon < 0) {
      return header;
    }
    return PORT.matcher(header.substring(colon + 1)).matches() ? header.substring(0, colon) : null;
  }

  private static boolean isIpv4Loopback(String host) {
    return isIpv4(host) && host.startsWith("127.");
  }

  private static boolean isIpv4(String host) {
    var m = IPV4.matcher(host);
    if (!m.matches()) {
      return false;
    }
    for (int i = 1; i <= 4; i++) {
      if (Integer.parseInt(m.group(i)) > 255) {
        return false;
      }
    }
    return true;
  }
}
