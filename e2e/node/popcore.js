'use strict';
// Runs @alicloud/pop-core (the classic Node.js SDK) for the Python tests.
//
// stdin: one JSON command, or an array of them (run in order):
//   {"endpoint": "http://127.0.0.1:PORT", "accessKeyId": "...", "accessKeySecret": "...",
//    ["securityToken": "...",] "apiVersion": "2015-05-01", "action": "ListUsers",
//    "params": {"MaxItems": "10"}, "method": "GET" | "POST"}
// stdout: one JSON result per command (an array for an array):
//   {"ok": true,  "status": 200, "body": {...}}
//   {"ok": false, "status": 403, "code": "NoPermission", "message": "...", "data": {...}}
//   {"ok": false, "status": null, "code": null, "exception": "..."}   (not an API error)
const { isLoopback } = require('./loopback-guard');
const RPCClient = require('@alicloud/pop-core').RPCClient;
const JSONbig = require('json-bigint');

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function runOne(cmd) {
  const url = new URL(cmd.endpoint);
  if (url.protocol !== 'http:' || !isLoopback(url.hostname)) {
    return { ok: false, status: null, code: null,
      exception: `refusing endpoint ${cmd.endpoint}: only http://127.0.0.1:PORT is allowed` };
  }
  const client = new RPCClient({
    accessKeyId: cmd.accessKeyId,
    accessKeySecret: cmd.accessKeySecret,
    securityToken: cmd.securityToken,
    endpoint: cmd.endpoint,
    apiVersion: cmd.apiVersion,
    opts: { timeout: 30000 },
  });
  client.verbose = true; // returns [json, entry] so the HTTP status is visible
  try {
    const [body, entry] = await client.request(cmd.action, cmd.params || {},
      { method: cmd.method || 'GET', timeout: 30000 });
    return { ok: true, status: entry.response.statusCode, body };
  } catch (err) {
    if (err.data !== undefined && err.code !== undefined) {
      return {
        ok: false,
        status: err.entry && err.entry.response ? err.entry.response.statusCode : null,
        code: err.code,
        name: err.name,
        message: err.message,
        data: err.data,
      };
    }
    return { ok: false, status: null, code: null, exception: String(err && err.stack || err) };
  }
}

(async () => {
  const input = JSON.parse(await readStdin());
  const many = Array.isArray(input);
  const results = [];
  for (const cmd of many ? input : [input]) {
    results.push(await runOne(cmd));
  }
  process.stdout.write(JSONbig.stringify(many ? results : results[0]) + '\n');
})().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(2);
});
