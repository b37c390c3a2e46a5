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
}
