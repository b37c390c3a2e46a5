// Mimics the published agent-relay TypeScript SDK against a broker binary, as its spawn()/connect() do:
//   spawn:   <binary> init --name <basename(cwd)> --channels general, RELAY_BROKER_API_KEY set,
//            read "[agent-relay] API listening on <url>" from stdout,
//            poll GET /api/session with X-API-Key, retrying only while the error text has 503 / Service Unavailable
//   connect: read <cwd>/.agent-relay/connection.json, require url, api_key and a live pid
//   then renew the lease and POST /api/shutdown on close.
// Usage: node mimic-sdk.mjs <binary> <cwd>    (prints one JSON line with what it saw)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const [binary, cwd] = process.argv.slice(2);
const apiKey = 'br_' + crypto.randomBytes(16).toString('hex');
// Timers are unref'd: a pending deadline must not keep node alive once the work is done.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());
const result = { polls: 0 };
const started = Date.now();

const child = spawn(binary, ['init', '--name', path.basename(cwd), '--channels', 'general'], {
  cwd, env: { ...process.env, RELAY_BROKER_API_KEY: apiKey }, stdio: ['ignore', 'pipe', 'pipe'],
});
const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
let stdout = '';
child.stderr.on('data', () => {});

try {
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = stdout.match(/\[agent-relay\] API listening on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    exited.then((code) => reject(new Error(`broker exited with ${code} before listening`)));
    setTimeout(() => reject(new Error('no listening line within 30 s')), 30000).unref();
  });
  result.url = url;

  // getSession(): the SDK builds its error from the top-level code and message only.
  for (;;) {
    result.polls++;
    let text;
    try {
      const res = await fetch(`${url}/api/session`, { headers: { 'X-API-Key': apiKey } });
      const body = await res.json();
      if (res.ok) { result.session = body; break; }
      text = `${body.code}: ${body.message}`;
    } catch (e) {
      text = `Unable to connect: ${e.message}`;
    }
    if (!(text.includes('503') || text.includes('Service Unavailable')) || Date.now() - started > 30000) {
      result.error = text;
      break;
    }
    await sleep(100);
  }
  result.elapsedMs = Date.now() - started;

  // connect()
  const connection = JSON.parse(fs.readFileSync(path.join(cwd, '.agent-relay', 'connection.json'), 'utf8'));
  result.connectionOk = typeof connection.url === 'string' && connection.api_key === apiKey && Number.isInteger(connection.pid);
  try { process.kill(connection.pid, 0); result.pidAlive = true; } catch { result.pidAlive = false; }

  const renew = await fetch(`${connection.url}/api/session/renew`, { method: 'POST', headers: { 'X-API-Key': connection.api_key } });
  result.renew = await renew.json();
  const shutdown = await fetch(`${connection.url}/api/shutdown`, { method: 'POST', headers: { 'X-API-Key': connection.api_key } });
  result.shutdown = await shutdown.json();
} catch (e) {
  result.fatal = e.message;
  child.kill('SIGKILL');
}
result.exitCode = await Promise.race([exited, sleep(15000).then(() => 'still running')]);
result.stdoutLines = stdout.trim().split('\n');
result.connectionFileLeft = fs.existsSync(path.join(cwd, '.agent-relay', 'connection.json'));
console.log(JSON.stringify(result));
