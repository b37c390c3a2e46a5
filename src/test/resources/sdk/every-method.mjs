// Calls every method of the published HarnessDriverClient (@agent-relay/harness-driver 9.1.6) against a broker it
// spawns with our launcher, and prints one JSON line: per method, what a user sees (the value, or the error's
// code, status and message).
// Usage: node every-method.mjs <modules dir> <launcher> <cwd> <name>
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, launcher, cwd, name] = process.argv.slice(2);
const { HarnessDriverClient } = await import(pathToFileURL(path.join(modules, '@agent-relay/harness-driver', 'dist/index.js')).href);
const seen = {};

async function attempt(method, call) {
  try {
    const value = await call();
    seen[method] = { ok: true, value: value === undefined ? null : value };
  } catch (error) {
    seen[method] = { ok: false, code: error?.code ?? null, status: error?.status ?? null, message: error?.message ?? String(error) };
  }
}

try {
  const client = await HarnessDriverClient.spawn({ binaryPath: launcher, cwd, brokerName: name, channels: ['general'] });
  await attempt('getSession', () => client.getSession());
  await attempt('healthCheck', () => client.healthCheck());
  await attempt('getStatus', () => client.getStatus());
  await attempt('getConfig', () => client.getConfig());
  await attempt('listAgents', () => client.listAgents());
  await attempt('getMetrics', () => client.getMetrics());
  await attempt('getMetricsOfAnAgent', () => client.getMetrics('w1'));
  await attempt('getCrashInsights', () => client.getCrashInsights());
  await attempt('preflight', () => client.preflight([{ name: 'w1', cli: 'claude' }]));
  await attempt('renewLease', () => client.renewLease());
  await attempt('queryEvents', () => client.queryEvents({}));
  await attempt('getLastEvent', () => client.getLastEvent('state'));
  await attempt('spawnPty', () => client.spawnPty({ name: 'w1', cli: 'claude' }));
  await attempt('spawnCli', () => client.spawnCli({ name: 'w1', cli: 'claude' }));
  await attempt('spawnHeadless', () => client.spawnHeadless({ name: 'w1', cli: 'claude' }));
  await attempt('spawnClaude', () => client.spawnClaude({ name: 'w1' }));
  await attempt('spawnOpencode', () => client.spawnOpencode({ name: 'w1' }));
  await attempt('release', () => client.release('w1', 'done'));
  await attempt('sendInput', () => client.sendInput('w1', 'hello\n'));
  await attempt('resizePty', () => client.resizePty('w1', 40, 120));
  await attempt('getInboundDeliveryMode', () => client.getInboundDeliveryMode('w1'));
  await attempt('setInboundDeliveryMode', () => client.setInboundDeliveryMode('w1', 'drive'));
  await attempt('getPending', () => client.getPending('w1'));
  await attempt('flushPending', () => client.flushPending('w1'));
  await attempt('snapshot', () => client.snapshot('w1'));
  await attempt('sendMessage', () => client.sendMessage({ to: 'w1', text: 'hello' }));
  await attempt('setModel', () => client.setModel('w1', 'opus'));
  await attempt('subscribeChannels', () => client.subscribeChannels('w1', ['general']));
  await attempt('unsubscribeChannels', () => client.unsubscribeChannels('w1', ['general']));
  await attempt('openInputStream', async () => {
    const stream = client.openInputStream('w1', { openTimeoutMs: 3000 });
    try {
      await stream.waitUntilOpen();
      await stream.send('hello');
    } finally {
      stream.close?.();
    }
  });
  await attempt('shutdown', () => client.shutdown());
} catch (error) {
  seen.fatal = error instanceof Error ? error.stack : String(error);
}
console.log(JSON.stringify(seen));
process.exit(0);
