// Drives our launcher with a real published client: @agent-relay/harness-driver 9.x (HarnessDriverClient) or
// @agent-relay/sdk 6.x (AgentRelayClient); their broker-facing APIs are the same.
// Usage: node real-client.mjs <modules dir> <package> <class> <launcher> <cwd> spawn|connect|refused|rejected [name]
// Prints one JSON line with what the client saw.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, pkg, className, launcher, cwd, mode, name = 'sdk-app'] = process.argv.slice(2);
const Client = (await import(pathToFileURL(path.join(modules, pkg, 'dist/index.js')).href))[className];
const stateDir = process.env.AGENT_RELAY_STATE_DIR ?? path.join(cwd, '.agentworkforce/relay');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seen = { mode };
// Counts the client's session reads: a refusal must answer the one held request, not wait for a later 1 s poll.
seen.sessionRequests = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  if (/\/api\/session(\?|$)/.test(String(url)) && (init?.method ?? 'GET') === 'GET') seen.sessionRequests++;
  return realFetch(url, init);
};

try {
  if (mode === 'spawn') {
    const started = performance.now();
    const client = await Client.spawn({ binaryPath: launcher, cwd, brokerName: name, channels: ['general'] });
    const session = await client.getSession();
    seen.spawnToSessionMs = Math.round(performance.now() - started);
    seen.session = session;
    seen.renew = await client.renewLease();
    const events = [];
    client.onEvent((event) => events.push(event));
    // spawn() already opened the stream; reopen it from 0 so the replay reaches this listener.
    client.disconnectEvents();
    client.connectEvents(0);
    for (let i = 0; i < 100 && !events.some((e) => e.kind === 'state'); i++) await sleep(50);
    seen.stateEvent = events.find((e) => e.kind === 'state') ?? null;
    const pid = client.brokerPid;
    await client.shutdown();
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      try { process.kill(pid, 0); await sleep(100); } catch { alive = false; }
    }
    seen.brokerExited = !alive;
  } else if (mode === 'connect') {
    const client = Client.connect({ cwd });
    seen.session = await client.getSession();
    client.disconnect();
  } else if (mode === 'refused' || mode === 'rejected') {
    const started = performance.now();
    try {
      // refused: --persist, a strict name, so a live foreign agent is a refusal rather than a suffixed name.
      // rejected: the workspace key in the environment is not one the cloud knows.
      await Client.spawn({ binaryPath: launcher, cwd, brokerName: name, channels: ['general'],
        binaryArgs: mode === 'refused' ? { persist: true } : undefined, startupTimeoutMs: 20000 });
      seen.error = null;
    } catch (error) {
      seen.error = error instanceof Error ? error.message : String(error);
      seen.failedAfterMs = Math.round(performance.now() - started);
    }
    const connection = JSON.parse(fs.readFileSync(path.join(stateDir, 'connection.json'), 'utf8'));
    let alive = true;
    const waited = performance.now();
    for (let i = 0; i < 200 && alive; i++) {
      try { process.kill(connection.pid, 0); await sleep(100); } catch { alive = false; }
    }
    seen.brokerGone = !alive;
    seen.brokerGoneAfterMs = Math.round(performance.now() - waited);
  }
} catch (error) {
  seen.fatal = error instanceof Error ? error.stack : String(error);
}
console.log(JSON.stringify(seen));
process.exit(0);
