package dev.relaybroker.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code scripts/build}, which every launch runs first: two SDK spawns at once after a {@code git pull} must build
 * once, and never in the tree a test run cleans. Run on a copy of the launcher scripts with a stand-in {@code mvn}
 * that records its calls and takes its time, as a real build does.
 */
class LauncherBuildTest {
  @TempDir
  Path checkout;

  @Test
  void twoLaunchesAtOnceAfterASourceChangeBuildOnceOutsideTarget() throws Exception {
    Path scripts = Files.createDirectories(checkout.resolve("scripts"));
    Files.copy(Path.of("scripts/build"), scripts.resolve("build"));
    Files.writeString(checkout.resolve("pom.xml"), "<project/>");
    Files.createDirectories(checkout.resolve("src/main"));
    Path bin = Files.createDirectories(checkout.resolve("fake-bin"));
    Path calls = checkout.resolve("mvn-calls.txt");
    // The stand-in: logs its arguments, takes 2 s, and leaves the shaded jar where -Drelay.buildDirectory says.
    Path mvn = bin.resolve("mvn");
    Files.writeString(mvn, String.join("\n",
      "#!/usr/bin/env bash",
      "echo \"$*\" >> '" + calls + "'",
      "for a in \"$@\"; do case \"$a\" in -Drelay.buildDirectory=*) dir=\"${a#*=}\";; esac; done",
      "sleep 2",
      "mkdir -p \"$dir\" && echo jar > \"$dir/relay-broker.jar\"", ""));
    Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));

    List<Process> launches = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      ProcessBuilder builder = new ProcessBuilder("bash", scripts.resolve("build").toString()).redirectErrorStream(true)
        .redirectOutput(checkout.resolve("launch-" + i + ".log").toFile());
      builder.environment().put("PATH", bin + ":" + System.getenv("PATH"));
      launches.add(builder.start());
      Thread.sleep(300);
    }
    for (Process launch : launches) {
      assertThat(launch.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(launch.exitValue()).isZero();
    }

    List<String> builds = Files.readAllLines(calls);
    assertThat(builds).as("one build for two launches").hasSize(1);
    assertThat(builds.get(0)).contains("-Drelay.buildDirectory=" + checkout.resolve("build/maven"));
    assertThat(checkout.resolve("build/relay-broker.jar")).hasContent("jar");
    assertThat(checkout.resolve("target")).as("target/ belongs to the test command").doesNotExist();
    assertThat(Files.readString(checkout.resolve("launch-1.log"))).contains("waiting");
  }

  /**
   * The start-up archive is recorded by a training run in the background, not at the user's first stop (which
   * took 3.8 s and printed the JDK's "AOTConfiguration recorded"); the training never sees the user's key.
   * A stand-in JDK 25 records what each run was given.
   */
  @Test
  void theStartUpArchiveIsTrainedInTheBackgroundWithoutTheUsersKeyAndUsedByTheNextLaunch() throws Exception {
    Path scripts = Files.createDirectories(checkout.resolve("scripts"));
    Files.copy(Path.of("scripts/build"), scripts.resolve("build"));
    Files.copy(Path.of("scripts/relay-broker"), scripts.resolve("relay-broker"));
    Files.writeString(checkout.resolve("pom.xml"), "<project/>");
    Files.createDirectories(checkout.resolve("src/main"));
    Thread.sleep(1100); // the jar is newer than the sources: no build
    Files.writeString(Files.createDirectories(checkout.resolve("build")).resolve("relay-broker.jar"), "jar");
    Path jdk = Files.createDirectories(checkout.resolve("jdk/bin"));
    Files.writeString(checkout.resolve("jdk/release"), "JAVA_VERSION=\"25.0.1\"\n");
    Path calls = checkout.resolve("java-calls.txt");
    Path java = jdk.resolve("java");
    Files.writeString(java, String.join("\n",
      "#!/usr/bin/env bash",
      "echo \"key=${RELAY_API_KEY:-none} $*\" >> '" + calls + "'",
      "for a in \"$@\"; do case \"$a\" in -XX:AOTConfiguration=*) conf=\"${a#*=}\";; -XX:AOTCache=*) cache=\"${a#*=}\";; esac; done",
      "if [[ \" $* \" == *' -XX:AOTMode=create '* ]]; then echo aot > \"$cache\"; exit 0; fi",
      "if [[ \" $* \" == *' relay-broker-training '* ]]; then",
      "  trap 'echo conf > \"$conf\"; exit 0' TERM",
      "  echo 'Session ready' >&2",
      "  while true; do sleep 0.05; done",
      "fi",
      "echo 'Session ready' >&2", ""));
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path archive = checkout.resolve("build/relay-broker-jdk25.aot");

    int first = launch(java, "up", "--name", "app");
    for (int i = 0; i < 150 && !Files.exists(archive); i++) {
      Thread.sleep(100);
    }
    int second = launch(java, "up", "--name", "app");

    assertThat(first).isZero();
    assertThat(second).isZero();
    List<String> runs = Files.readAllLines(calls);
    assertThat(runs).as("the user's run, the training, the cache's creation, the next run").hasSize(4);
    assertThat(runs.get(0)).contains("key=rk_live_usersown").doesNotContain("AOT").endsWith("up --name app");
    assertThat(runs).filteredOn(r -> r.contains("relay-broker-training")).singleElement().asString()
      .startsWith("key=none").contains("-XX:AOTMode=record").contains("--config ").contains("--state-dir ");
    assertThat(runs).filteredOn(r -> r.contains("-XX:AOTMode=create")).hasSize(1);
    assertThat(archive).hasContent("aot");
    assertThat(runs.get(3)).contains("-XX:AOTCache=" + archive).endsWith("up --name app");
    assertThat(checkout.resolve("build/relay-broker-jdk25.aot.building")).doesNotExist();
  }

  private int launch(Path java, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("bash", checkout.resolve("scripts/relay-broker").toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    builder.environment().keySet().removeIf(k -> k.startsWith("RELAY_"));
    builder.environment().put("RELAY_BROKER_JAVA", java.toString());
    builder.environment().put("RELAY_API_KEY", "rk_live_usersown");
    Process launch = builder.start();
    assertThat(launch.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return launch.exitValue();
  }
}
