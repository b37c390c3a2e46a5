// The throughput baseline of scripts/bench: Node's http module answering GET /api/session with the same JSON
// bytes the broker serves, behind the same X-API-Key check, on loopback TCP and on a Unix socket.
// Usage: node node-baseline.mjs <body-file> <socket-path> <api-key>; prints {"port","socket"} once listening.
import http from 'node:http';
import fs from 'node:fs';

const [bodyFile, socketPath, apiKey] = process.argv.slice(2);
const body = fs.readFileSync(bodyFile);
const handler = (req, res) => {
  if (req.headers['x-api-key'] !== apiKey) {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"code":"unauthorized"}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
};
if (fs.existsSync(socketPath)) fs.unlinkSync(socketPath);
const tcp = http.createServer(handler);
const uds = http.createServer(handler);
tcp.keepAliveTimeout = uds.keepAliveTimeout = 30000;
tcp.listen(0, '127.0.0.1', () => uds.listen(socketPath, () => {
  console.log(JSON.stringify({ port: tcp.address().port, socket: socketPath }));
}));
