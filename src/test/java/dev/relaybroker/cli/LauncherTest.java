package dev.relaybroker.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * scripts/relay-broker, the binary SDKs spawn: which JDK it picks and which flags it gives it, read through
 * {@code RELAY_BROKER_PRINT_JVM=1} (which builds and runs nothing), and whether that JDK accepts every flag.
 */
class LauncherTest {
  private static final Path LAUNCHER = Path.of("scripts/relay-broker").toAbsolutePath();
  private static final Pattern VERSION = Pattern.compile("^JAVA_VERSION=\"(\\d+)", Pattern.MULTILINE);

  private static List<String> printJvm(Map<String, String> environment) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(LAUNCHER.toString()).redirectErrorStream(true);
    builder.environment().keySet().removeIf(k -> k.startsWith("RELAY_BROKER_"));
    builder.environment().put("RELAY_BROKER_PRINT_JVM", "1");
    builder.environment().putAll(environment);
    Process process = builder.start();
    List<String> lines = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    assertThat(process.waitFor()).as("launcher output %s", lines).isZero();
    return lines;
  }

  private static Optional<Integer> major(Path javaBinary) {
    try {
      Path home = javaBinary.toRealPath().getParent().getParent();
      Matcher matcher = VERSION.matcher(Files.readString(home.resolve("release")));
      return matcher.find() ? Optional.of(Integer.parseInt(matcher.group(1))) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The JDKs the launcher may pick from, as it looks for them. */
  private static List<Path> candidates() throws IOException {
    List<Path> candidates = new ArrayList<>();
    if (System.getenv("JAVA_HOME") != null) {
      candidates.add(Path.of(System.getenv("JAVA_HOME"), "bin", "java"));
    }
    for (String dir : System.getenv("PATH").split(":")) {
      candidates.add(Path.of(dir, "java"));
    }
    if (Files.isDirectory(Path.of("/usr/lib/jvm"))) {
      try (Stream<Path> jdks = Files.list(Path.of("/usr/lib/jvm"))) {
        jdks.map(j -> j.resolve("bin/java")).forEach(candidates::add);
      }
    }
    return candidates.stream().filter(Files::isExecutable).toList();
  }

  private static int exitOf(List<String> command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int exit = process.waitFor();
    assertThat(output).as("the JVM's own words about the flags").doesNotContain("Unrecognized").doesNotContain("Invalid");
    return exit;
  }

  @Test
  void itPicksTheNewestJdkItFindsAndThatJdkAcceptsEveryFlag() throws Exception {
    int newest = candidates().stream().map(LauncherTest::major).flatMap(Optional::stream).filter(m -> m >= 17)
      .max(Integer::compare).orElseThrow();

    List<String> jvm = printJvm(Map.of());

    assertThat(major(Path.of(jvm.get(0)))).contains(newest);
    // stdout is the SDKs': the JVM's own messages (an AOT recording's "AOTConfiguration recorded" at exit) go to stderr.
    assertThat(jvm).contains("-XX:+UseSerialGC", "-Xmx64m", "-XX:CompileThresholdScaling=10", "-XX:Tier3InvocationThreshold=2000",
      "-XX:+DisplayVMOutputToStderr");
    // The archive's kind follows the JDK (none at all while a recorded AOT configuration is being built into a cache).
    assertThat(jvm).noneMatch(f -> newest >= 25 ? f.contains("Archive") : f.startsWith("-XX:AOT"));
    List<String> version = new ArrayList<>(jvm.stream().filter(f -> !f.contains("AOT") && !f.contains("Archive")).toList());
    version.add("-version");
    assertThat(exitOf(version)).isZero();
  }

  @Test
  void relayBrokerJavaChoosesTheJdkAndItsKindOfArchive() throws Exception {
    Path running = Path.of(System.getProperty("java.home"), "bin", "java");
    int runningMajor = Runtime.version().feature();

    // A checkout whose archive for the running JDK is trained (newer than the jar): the launch maps exactly it.
    Path checkout = Files.createTempDirectory("launcher-archive");
    Files.createDirectories(checkout.resolve("scripts"));
    Files.copy(LAUNCHER, checkout.resolve("scripts/relay-broker"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
    Path jar = Files.writeString(Files.createDirectories(checkout.resolve("build")).resolve("relay-broker.jar"), "jar");
    String archive = "relay-broker-jdk" + runningMajor + (runningMajor >= 25 ? ".aot" : ".jsa");
    Path trained = Files.writeString(checkout.resolve("build").resolve(archive), "archive");
    Files.setLastModifiedTime(trained, java.nio.file.attribute.FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 2000));
    ProcessBuilder builder = new ProcessBuilder(checkout.resolve("scripts/relay-broker").toString()).redirectErrorStream(true);
    builder.environment().keySet().removeIf(k -> k.startsWith("RELAY_BROKER_"));
    builder.environment().put("RELAY_BROKER_PRINT_JVM", "1");
    builder.environment().put("RELAY_BROKER_JAVA", running.toString());
    Process launch = builder.start();
    List<String> jvm = new String(launch.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    assertThat(launch.waitFor()).isZero();

    assertThat(jvm.get(0)).isEqualTo(running.toString());
    assertThat(jvm).filteredOn(f -> f.contains("relay-broker-jdk")).singleElement().asString()
      .isEqualTo((runningMajor >= 25 ? "-XX:AOTCache=" : "-XX:SharedArchiveFile=") + trained);
    List<String> version = new ArrayList<>(jvm.stream().filter(f -> !f.contains("AOT") && !f.contains("Archive")).toList());
    version.add("-version");
    assertThat(exitOf(version)).isZero();
  }

  /** Until a training run has made the archive for this jar (LauncherBuildTest), a launch maps none and records none. */
  @Test
  void withoutATrainedArchiveALaunchNeitherMapsNorRecordsOne() throws Exception {
    Path jdk25 = candidates().stream().filter(j -> major(j).orElse(0) >= 25).findFirst().orElse(null);
    Assumptions.assumeTrue(jdk25 != null, "no JDK >= 25 here");
    Path archive = Path.of("build/relay-broker-jdk" + major(jdk25).orElseThrow() + ".aot").toAbsolutePath();
    Assumptions.assumeFalse(Files.exists(archive), "a trained archive exists here");

    List<String> jvm = printJvm(Map.of("RELAY_BROKER_JAVA", jdk25.toString()));

    assertThat(jvm).isNotEmpty().noneMatch(f -> f.contains("AOT") || f.contains("Archive"));
  }

  @Test
  void withTheArchiveOffNoArchiveFlagIsGiven() throws Exception {
    List<String> jvm = printJvm(Map.of("RELAY_BROKER_CDS", "off"));

    assertThat(jvm).noneMatch(f -> f.contains("AOT") || f.contains("Archive"));
  }
}
