package dev.relaybroker.config;

import io.vertx.codegen.annotations.DataObject;
import io.vertx.codegen.annotations.GenIgnore;
import io.vertx.codegen.json.annotations.JsonGen;
import io.vertx.core.json.JsonObject;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything the broker is told, parsed once at the edge (conf file, environment, flags; see
 * {@link ConfigLoader}) and then passed around typed. Defaults live in the no-arg constructor.
 */
@DataObject
@JsonGen(publicConverter = false)
public class BrokerOptions {
  public static final BrokerMode DEFAULT_MODE = BrokerMode.PERSIST;
  public static final ReclaimPolicy DEFAULT_RECLAIM = ReclaimPolicy.OFFLINE;
  /** 12.4.1's owner lease (measured: renew answers 120; unrenewed, it stopped 129 s after the last renewal). */
  public static final long DEFAULT_LEASE_SECS = 120;
  public static final long DEFAULT_FAILED_GRACE_SECS = 30;
  public static final List<String> DEFAULT_CHANNELS = List.of("general");
  /** Under the working directory: where the current client line ({@code harness-driver} 9.x) looks. */
  public static final String DEFAULT_STATE_DIR_NAME = ".agentworkforce/relay";

  private String name;
  private BrokerMode mode = DEFAULT_MODE;
  private ReclaimPolicy reclaim = DEFAULT_RECLAIM;
  private String stateDir;
  private List<String> channels = new ArrayList<>(DEFAULT_CHANNELS);
  private long leaseSecs = DEFAULT_LEASE_SECS;
  private long failedGraceSecs = DEFAULT_FAILED_GRACE_SECS;
  private boolean clientSpawned;
  private boolean embeddedEmulator;
  private String busName;
  private String emulatorEngine = "current";
  private CloudOptions cloud = new CloudOptions();
  private LocalApiOptions api = new LocalApiOptions();
  private PresenceOptions presence = new PresenceOptions();
  private MetricsOptions metrics = new MetricsOptions();

  public BrokerOptions() {
  }

  /** Reads the shape of {@code conf/config.json}; run {@link ConfigSchema#check} first to report bad types. */
  public BrokerOptions(JsonObject json) {
    BrokerOptionsConverter.fromJson(json, this);
    // The enums travel by their wire names (persist, offline); the generated converter reads and writes Java names.
    if (json.getValue("mode") instanceof String wire) {
      mode = BrokerMode.parse(wire);
    }
    if (json.getValue("reclaim") instanceof String wire) {
      reclaim = ReclaimPolicy.parse(wire);
    }
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    BrokerOptionsConverter.toJson(this, json);
    return json.put("mode", mode.wireName()).put("reclaim", reclaim.wireName());
  }

  /** Every problem at once, so a user fixes a config in one go rather than one error per restart. */
  public List<String> validate() {
    List<String> problems = new ArrayList<>();
    if (name != null) {
      if (name.length() > 128) {
        problems.add("agent name must be at most 128 characters");
      }
      if (name.chars().anyMatch(Character::isISOControl)) {
        problems.add("agent name must not contain control characters");
      }
    }
    if (failedGraceSecs < 1) {
      problems.add("failedGraceSecs must be at least 1, got " + failedGraceSecs);
    }
    if (leaseSecs < 1) {
      problems.add("leaseSecs must be at least 1, got " + leaseSecs);
    }
    if (!emulatorEngine.equals("current") && !emulatorEngine.equals("legacy")) {
      problems.add("emulatorEngine must be legacy or current, got '" + emulatorEngine + "'");
    }
    String busProblem = dev.relaybroker.bus.BrokerBus.problem(busName);
    if (busProblem != null) {
      problems.add(busProblem);
    }
    cloud.validate(problems);
    api.validate(problems);
    presence.validate(problems);
    return problems;
  }

  /**
   * No workspace key and no base URL, and the embedded emulator allowed: run against an in-process emulator (the
   * command line's default, so a new user sees the whole flow). An embedding application gets no emulator unless
   * it asks with {@link #setEmbeddedEmulator(boolean)}.
   */
  @GenIgnore
  public boolean isEmbeddedDefault() {
    return embeddedEmulator && cloud.getWorkspaceKey() == null && cloud.getBaseUrl() == null;
  }

  @GenIgnore
  public boolean isEmbeddedEmulator() { return embeddedEmulator; }
  /**
   * Null (the default): the broker uses the SPEC's event-bus addresses. A name: the same addresses with
   * {@code .<name>} appended, for more than one broker in one Vert.x (read them with
   * {@code SessionClient.create(vertx, name)}). Embedding only; not part of the config file.
   */
  @GenIgnore
  public String getBusName() { return busName; }
  @GenIgnore
  public BrokerOptions setBusName(String busName) { this.busName = busName; return this; }
  /** The addresses this broker uses. */
  public dev.relaybroker.bus.BrokerBus bus() { return dev.relaybroker.bus.BrokerBus.of(busName); }
  @GenIgnore
  public BrokerOptions setEmbeddedEmulator(boolean embeddedEmulator) { this.embeddedEmulator = embeddedEmulator; return this; }

  /**
   * The state dir as given, else {@code <cwd>/.agentworkforce/relay}, absolute; a project's {@code .agent-relay}
   * (where 6.x clients look) stands for the same project's current dir (see {@link ProjectLayout}).
   */
  public Path resolvedStateDir() {
    return ProjectLayout.stateDir(stateDir != null ? Path.of(stateDir) : Path.of(System.getProperty("user.dir"), DEFAULT_STATE_DIR_NAME));
  }


  /** Agent name explicitly configured, or null to derive it from the working directory. */
  public String getName() { return name; }
  public BrokerOptions setName(String name) { this.name = Json.blankToNull(name); return this; }
  @GenIgnore
  public BrokerMode getMode() { return mode; }
  @GenIgnore
  public BrokerOptions setMode(BrokerMode mode) { this.mode = mode; return this; }
  @GenIgnore
  public ReclaimPolicy getReclaim() { return reclaim; }
  @GenIgnore
  public BrokerOptions setReclaim(ReclaimPolicy reclaim) { this.reclaim = reclaim; return this; }
  public String getStateDir() { return stateDir; }
  public BrokerOptions setStateDir(String stateDir) { this.stateDir = Json.blankToNull(stateDir); return this; }
  /** Channels to create and join once ready ({@code --channels a,b}; default {@code general}; empty: none). */
  public List<String> getChannels() { return channels; }
  public BrokerOptions setChannels(List<String> channels) { this.channels = new ArrayList<>(channels); return this; }
  /** Ephemeral mode: stop when no client renewed the owner lease for this long. */
  public long getLeaseSecs() { return leaseSecs; }
  public BrokerOptions setLeaseSecs(long leaseSecs) { this.leaseSecs = leaseSecs; return this; }
  /**
   * Ephemeral mode: after the identity flow failed for a cause that needs a person (a rejected key, a name live
   * elsewhere), the broker stops itself this long after the failure unless a client renews the lease meanwhile, so
   * an SDK whose spawn() failed is not kept alive (nor the state dir locked) for the whole lease.
   */
  public long getFailedGraceSecs() { return failedGraceSecs; }
  /**
   * Started by a client ({@code init}, what SDKs spawn), also with {@code --persist}: a refusal nobody renews the
   * lease for then stops the broker after {@link #getFailedGraceSecs()}. Set from the command, not configurable.
   */
  @GenIgnore
  public boolean isClientSpawned() { return clientSpawned; }
  @GenIgnore
  public BrokerOptions setClientSpawned(boolean clientSpawned) { this.clientSpawned = clientSpawned; return this; }
  public BrokerOptions setFailedGraceSecs(long failedGraceSecs) { this.failedGraceSecs = failedGraceSecs; return this; }
  /** Engine generation of the embedded emulator (only used with neither key nor base URL). */
  public String getEmulatorEngine() { return emulatorEngine; }
  public BrokerOptions setEmulatorEngine(String emulatorEngine) { this.emulatorEngine = emulatorEngine; return this; }
  public CloudOptions getCloud() { return cloud; }
  public BrokerOptions setCloud(CloudOptions cloud) { this.cloud = cloud; return this; }
  public LocalApiOptions getApi() { return api; }
  public BrokerOptions setApi(LocalApiOptions api) { this.api = api; return this; }
  public MetricsOptions getMetrics() { return metrics; }
  public BrokerOptions setMetrics(MetricsOptions metrics) { this.metrics = metrics; return this; }
  public PresenceOptions getPresence() { return presence; }
  public BrokerOptions setPresence(PresenceOptions presence) { this.presence = presence; return this; }
}
