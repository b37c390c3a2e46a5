package dev.relaybroker.cli;

import dev.relaybroker.identity.AgentNames;

import java.nio.file.Path;

/**
 * {@code relay-broker service --systemd | --launchd}: a service definition that runs this project's broker in
 * persist mode ({@code up}) and restarts it when it fails. The workspace key comes from an environment file the
 * user creates (0600); it is never written into the definition, whatever the current environment holds.
 */
final class ServiceDefinition {
  private final Path workingDirectory;
  private final Path stateDir;
  private final String name;
  private final String launcher;

  ServiceDefinition(Path workingDirectory, Path stateDir, String name, String launcher) {
    this.workingDirectory = workingDirectory.toAbsolutePath().normalize();
    this.stateDir = stateDir.toAbsolutePath().normalize();
    this.name = name != null ? name : AgentNames.fromDirectory(this.workingDirectory);
    this.launcher = launcher;
  }

  /** Where the user puts {@code RELAY_API_KEY=rk_live_…} (0600). */
  Path environmentFile() {
    return stateDir.resolve("broker.env");
  }

  /** The unit's name, safe for systemd and launchd labels. */
  String serviceName() {
    return "relay-broker-" + name.replaceAll("[^A-Za-z0-9_.-]", "-");
  }

  String systemdUnit() {
    return String.join("\n",
      "# " + serviceName() + ".service: the relay broker of " + workingDirectory,
      "# Install: save as ~/.config/systemd/user/" + serviceName() + ".service, put RELAY_API_KEY=<key> into",
      "# " + environmentFile() + " (chmod 600), then: systemctl --user daemon-reload && systemctl --user enable --now " + serviceName(),
      "[Unit]",
      "Description=relay-broker for " + workingDirectory,
      "After=network-online.target",
      "Wants=network-online.target",
      "",
      "[Service]",
      "Type=simple",
      "WorkingDirectory=" + workingDirectory,
      "Environment=AGENT_RELAY_STATE_DIR=" + stateDir,
      // The leading '-' would make a missing file silent; without it systemd says the key file is missing.
      "EnvironmentFile=" + environmentFile(),
      "ExecStart=" + launcher + " up --name " + quoteForSystemd(name),
      "Restart=on-failure",
      "RestartSec=5",
      "",
      "[Install]",
      "WantedBy=default.target",
      "");
  }

  String launchdPlist() {
    String label = "dev.relaybroker." + serviceName();
    // launchd has no environment file: a shell reads it, then becomes the broker.
    String command = "set -a; . " + shellQuote(environmentFile().toString()) + "; set +a; exec " + shellQuote(launcher)
      + " up --name " + shellQuote(name);
    return String.join("\n",
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">",
      "<!-- Install: save as ~/Library/LaunchAgents/" + label + ".plist, put RELAY_API_KEY=<key> into " + xml(environmentFile().toString())
        + " (chmod 600), then: launchctl load -w ~/Library/LaunchAgents/" + label + ".plist -->",
      "<plist version=\"1.0\">",
      "<dict>",
      "  <key>Label</key><string>" + xml(label) + "</string>",
      "  <key>WorkingDirectory</key><string>" + xml(workingDirectory.toString()) + "</string>",
      "  <key>ProgramArguments</key>",
      "  <array><string>/bin/sh</string><string>-c</string><string>" + xml(command) + "</string></array>",
      "  <key>EnvironmentVariables</key>",
      "  <dict><key>AGENT_RELAY_STATE_DIR</key><string>" + xml(stateDir.toString()) + "</string></dict>",
      "  <key>RunAtLoad</key><true/>",
      "  <!-- Restart on failure, not after a clean stop (exit 0). -->",
      "  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>",
      "  <key>StandardErrorPath</key><string>" + xml(stateDir.resolve("broker.log").toString()) + "</string>",
      "</dict>",
      "</plist>",
      "");
  }

  private static String quoteForSystemd(String value) {
    return value.matches("[A-Za-z0-9_.@/-]+") ? value : "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static String shellQuote(String value) {
    return "'" + value.replace("'", "'\\''") + "'";
  }

  private static String xml(String value) {
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
