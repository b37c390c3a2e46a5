package dev.relaybroker.identity;

import dev.relaybroker.files.AtomicFiles;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Optional;

/** {@code <state>/credentials.json}: read leniently, written atomically as 0600 (temp file + rename). */
public final class CredentialCache {
  public static final String FILE_NAME = "credentials.json";
  private static final Logger LOG = LoggerFactory.getLogger(CredentialCache.class);

  private final Vertx vertx;
  private final String file;

  public CredentialCache(Vertx vertx, Path stateDir) {
    this.vertx = vertx;
    this.file = stateDir.resolve(FILE_NAME).toString();
  }

  /** The cached credentials; an absent or unreadable file is an empty cache, never a failure. */
  public Future<Optional<CachedCredentials>> load() {
    return vertx.fileSystem().exists(file)
      .compose(exists -> exists ? AtomicFiles.readNoFollow(vertx, file).map(buffer -> {
        try {
          return Optional.of(CachedCredentials.fromJson(buffer.toJsonObject()));
        } catch (RuntimeException damaged) {
          LOG.warn("credential cache {} is not valid JSON; ignoring it and registering afresh", file);
          return Optional.<CachedCredentials>empty();
        }
      }) : Future.succeededFuture(Optional.<CachedCredentials>empty()))
      .otherwise(failure -> {
        LOG.warn("cannot read credential cache {} ({}); registering afresh", file, failure.getClass().getSimpleName());
        return Optional.empty();
      });
  }

  public Future<Void> save(CachedCredentials credentials) {
    JsonObject json = credentials.toJson();
    return AtomicFiles.writeOwnerOnly(vertx, file, json.toBuffer());
  }

  public String path() {
    return file;
  }
}
