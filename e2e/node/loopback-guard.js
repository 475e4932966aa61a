'use strict';
// Refuse any connection or DNS lookup that is not to the loopback interface:
// the end-to-end tests must never contact anything outside 127.0.0.1.
const net = require('net');
const dns = require('dns');

function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true; // node's default: localhost
  const h = String(host).replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (/^::ffff:127\./.test(h)) return true;
  return false;
}

function refuse(what) {
  const err = new Error(`e2e network guard: refused ${what} (only loopback is allowed)`);
  err.code = 'E2E_NON_LOOPBACK';
  return err;
}

const origConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let opts = args[0];
  if (Array.isArray(opts)) opts = opts[0];
  let host;
  let path;
  if (opts !== null && typeof opts === 'object') {
    host = opts.host;
    path = opts.path;
  } else if (typeof opts === 'string' && isNaN(Number(opts))) {
    path = opts; // a unix socket path
  } else {
    host = typeof args[1] === 'string' ? args[1] : undefined;
  }
  if (path === undefined && !isLoopback(host)) {
    throw refuse(`connection to ${host}`);
  }
  return origConnect.apply(this, args);
};

const origLookup = dns.lookup;
dns.lookup = function (hostname, ...rest) {
  if (!isLoopback(hostname)) {
    const cb = rest[rest.length - 1];
    const err = refuse(`lookup of ${hostname}`);
    if (typeof cb === 'function') return process.nextTick(() => cb(err));
    throw err;
  }
  return origLookup.call(this, hostname, ...rest);
};

module.exports = { isLoopback };
