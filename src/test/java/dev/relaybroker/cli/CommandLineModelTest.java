package dev.relaybroker.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * up and init as SDKs spawn them are read without picocli (BrokerCommandLine.PlainSpawn, issue 24): the flags it
 * knows are picocli's model of those commands, its results are picocli's, anything unusual still reaches picocli,
 * and a plain spawn loads no picocli class at all.
 */
class CommandLineModelTest {
  private static final Set<String> HELP_OPTIONS = Set.of("-h", "--help", "-V", "--version");

  @TempDir
  Path dir;

  private static List<OptionSpec> options(Object command) {
    return new CommandLine(command).getCommandSpec().options().stream()
      .filter(option -> !HELP_OPTIONS.contains(option.longestName())).toList();
  }

  private static String sample(String flag) {
    return flag.equals("--reclaim") ? "own" : "7";
  }

  @Test
  void plainSpawnKnowsExactlyTheFlagsOfPicocliModelOfUpAndInit() {
    for (Object command : List.of(new BrokerCommandLine.Up(), new BrokerCommandLine.Init())) {
      Set<String> switches = new TreeSet<>();
      for (OptionSpec option : options(command)) {
        assertThat(option.names()).hasSize(1);
        String flag = option.longestName();
        if (option.arity().max() == 0) {
          switches.add(flag);
        } else {
          assertThat(option.arity().min()).as(flag).isEqualTo(1);
          assertThat(new BrokerCommandLine.BrokerFlags().set(flag, sample(flag))).as(flag).isTrue();
          assertThat(BrokerCommandLine.PlainSpawn.SWITCHES).doesNotContain(flag);
        }
      }
      Set<String> plainSwitches = new TreeSet<>(BrokerCommandLine.PlainSpawn.SWITCHES);
      if (command instanceof BrokerCommandLine.Up) {
        plainSwitches.remove("--persist"); // init's alone: up hands it to picocli, which refuses it
      }
      assertThat(switches).isEqualTo(plainSwitches);
    }
    assertThat(new BrokerCommandLine.BrokerFlags().set("--port", "7")).isFalse();
  }

  @Test
  void helpForUpAndInitListsEveryFlagOfTheirModel() {
    for (String command : List.of("up", "init")) {
      String usage = BrokerCommandLine.usage(command);
      Object model = command.equals("up") ? new BrokerCommandLine.Up() : new BrokerCommandLine.Init();
      options(model).forEach(option -> assertThat(usage).contains(option.longestName()));
    }
  }

  @Test
  void whatSdksSpawnIsReadWithoutPicocli() {
    for (String[] spawn : List.of(
        new String[] {"init", "--instance-name", "app", "--persist", "--api-port", "0"},
        new String[] {"init", "--name", "app", "--channels", "general,ops", "--lease-secs", "120"},
        new String[] {"up", "--name", "rss-probe", "--state-dir", "/tmp/s", "--config", "c.json", "--api-port=0"})) {
      assertThat(BrokerCommandLine.PlainSpawn.parse(Arrays.asList(spawn))).as(String.join(" ", spawn)).isNotNull();
    }
  }

  @Test
  void plainSpawnGivesPicocliResultsAndLeavesEverythingUnusualToIt() throws IOException {
    Path keyFile = dir.resolve("key");
    Files.writeString(keyFile, "rk_live_00112233445566778899\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
    String[][] cases = {
      {"up"},
      {"init"},
      {"--name", "implied-up", "--api-port", "0"},
      {"up", "--workspace-key", "rk_live_00112233445566778899", "--base-url", "http://10.0.0.1:8080", "--allow-insecure-cloud"},
      {"up", "--workspace-key-file", keyFile.toString(), "--reclaim", "ALWAYS", "--api-port", " 7001 "},
      {"up", "--workspace-key-file", dir.resolve("missing").toString()},
      {"up", "--workspace-key", "rk_live_00112233445566778899", "--workspace-key-file", keyFile.toString()},
      {"up", "--name=a", "--instance-name=b", "--api-bind=0.0.0.0", "--allow-non-loopback", "--state-dir=s"},
      {"up", "--config", "c.json", "--channels", " general, ,ops ", "--lease-secs", "30", "--engine", "legacy"},
      {"up", "--channels", ""},
      {"up", "--name", ""},
      {"up", "--name="},
      {"init", "--instance-name", "app", "--persist", "--api-port", "0"},
      {"init", "--api-port", "0"},
      // What PlainSpawn hands to picocli:
      {"up", "--persist"},
      {"up", "--worksapce-key", "rk_live_00112233445566778899", "--name", "x"},
      {"up", "--api-port", "abc", "--reclaim", "maybe"},
      {"up", "--api-port", "-1"},
      {"up", "--name", "a", "--name", "b"},
      {"up", "--name"},
      {"up", "--name", "--channels", "x"},
      {"up", "stray"},
      {"up", "--", "--name", "x"},
      {"up", "--allow-non-loopback=true"},
      {"up", "-h"},
      {"init", "--name", "x", "--help"},
      {"up", "--workspace-key-file", "\0"},
    };
    for (String[] args : cases) {
      List<String> arguments = new ArrayList<>(Arrays.asList(args));
      if (arguments.get(0).startsWith("-")) {
        arguments.add(0, "up");
      }
      BrokerCommandLine ours = BrokerCommandLine.parse(args);
      BrokerCommandLine picocli = BrokerCommandLine.ByPicocli.parse(arguments);
      String as = String.join(" ", args);
      assertThat(ours.command).as(as).isEqualTo(picocli.command);
      assertThat(ours.flags).as(as).isEqualTo(picocli.flags);
      assertThat(ours.flagNames).as(as).isEqualTo(picocli.flagNames);
      assertThat(ours.configFile).as(as).isEqualTo(picocli.configFile);
      assertThat(ours.problems).as(as).isEqualTo(picocli.problems);
      assertThat(ours.warnings).as(as).isEqualTo(picocli.warnings);
      assertThat(ours.output).as(as).isEqualTo(picocli.output);
    }
  }

  /** The point of PlainSpawn: picocli's classes (class-file version 49) never reach the start-up archive. */
  @Test
  void aPlainSpawnLoadsNoPicocliClassAndATypoStillDoes() throws Exception {
    assertThat(classesLoadedBy("init", "--instance-name", "app", "--persist", "--api-port", "0"))
      .noneMatch(line -> line.contains(" picocli."));
    assertThat(classesLoadedBy("up", "--worksapce-key", "k")).anyMatch(line -> line.contains(" picocli."));
  }

  private List<String> classesLoadedBy(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-Xshare:off", "-Xlog:class+load=info:stdout", "-cp", System.getProperty("java.class.path"),
      ParseOnly.class.getName()));
    command.addAll(List.of(args));
    Process java = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<String> lines = new String(java.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    assertThat(java.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(lines).as("the parse ran").anyMatch(line -> line.startsWith("parsed: "));
    return lines;
  }

  /** A JVM that only parses its arguments, as Main does first. */
  public static final class ParseOnly {
    public static void main(String[] args) {
      System.out.println("parsed: " + BrokerCommandLine.parse(args).command);
    }
  }
}
