// An unnamed Node server, started as an SDK starts one (`node /srv/app/dist/index.js`, stdin and
// stdout on pipes, a fresh environment): no "mcp" in its command line. The harness copies it to
// a work directory whose path has no "mcp" either. It writes the same NUL-terminated records as
// dump.c to stdout (pid, ppid, uid, euid, map=... for each shared object, "env", then
// process.env) and exits: what Node itself sees, after every constructor has run.
'use strict';
const fs = require('fs');

const records = [`pid=${process.pid}`, `ppid=${process.ppid}`, `uid=${process.getuid()}`, `euid=${process.geteuid()}`];
const seen = new Set();
for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
  const at = line.indexOf('/');
  const path = at < 0 ? '' : line.slice(at);
  if (path.includes('.so') && !seen.has(path)) {
    seen.add(path);
    records.push(`map=${path}`);
  }
}
records.push('env');
for (const [key, value] of Object.entries(process.env)) records.push(`${key}=${value}`);
fs.writeSync(1, records.join('\0') + '\0');
