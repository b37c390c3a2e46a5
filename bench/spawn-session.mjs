// The peer section's spawn -> session: the real published client starts a broker binary and asks for its session,
// exactly as an application does. Usage: node spawn-session.mjs <node_modules> <binary> <cwd> <name>
// Prints one JSON line: {"spawnToSessionMs": N, "agent": name} or {"error": text}.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, binary, cwd, name] = process.argv.slice(2);
const { HarnessDriverClient } = await import(pathToFileURL(path.join(modules, '@agent-relay/harness-driver/dist/index.js')).href);
const result = {};
try {
  const started = performance.now();
  const client = await HarnessDriverClient.spawn({ binaryPath: binary, cwd, brokerName: name, channels: ['general'],
    binaryArgs: { persist: true }, startupTimeoutMs: 30000 });
  const session = await client.getSession();
  result.spawnToSessionMs = Math.round((performance.now() - started) * 10) / 10;
  result.agent = session.agent?.name ?? session.workspace_key?.slice(0, 6) ?? 'unknown';
  await client.shutdown();
} catch (error) {
  result.error = error instanceof Error ? error.message : String(error);
}
console.log(JSON.stringify(result));
process.exit(0);
