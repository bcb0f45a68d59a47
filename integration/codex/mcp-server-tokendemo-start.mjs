#!/usr/bin/env node
// mcp-server-tokendemo-start (Node): the Codex scenario's stdio MCP server. No model calls a tool
// in that scenario (its provider is a mock), so this server makes its HTTPS call at start-up, as
// servers that fetch a token or a schema before serving do: it refreshes its token at
// TOKENDEMO_TOKEN_URL (undici's EnvHttpProxyAgent: the proxy from https_proxy/HTTPS_PROXY, the CA
// from NODE_EXTRA_CA_CERTS, read by Node at start), writes what happened to the file
// TOKENDEMO_REPORT (pid, ppid, the parent's executable, the shared objects mapped, its
// environment less TOKENDEMO_*, the result), and only then serves MCP over stdio (one tool, `server_info`), so a client that waits
// for its servers to start has the report before its first turn.
import { readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { EnvHttpProxyAgent, fetch } from 'undici';

const env = process.env;

// The whole cause chain, with codes: "fetch failed" alone hides the real failure.
function describe(err) {
  const parts = [];
  for (let e = err; e && parts.length < 6; e = e.cause) parts.push(e.code ? `${e.message} [${e.code}]` : String(e.message ?? e));
  return parts.join(' <- ');
}

async function refresh() {
  const url = env.TOKENDEMO_TOKEN_URL;
  try {
    const res = await fetch(url, {
      method: 'POST',
      dispatcher: new EnvHttpProxyAgent(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: env.TOKENDEMO_CLIENT_ID || '',
        client_secret: env.TOKENDEMO_CLIENT_SECRET || '',
      }),
    });
    const body = await res.text();
    return res.ok ? { ok: true, text: `POST ${url}: HTTP ${res.status}` }
      : { ok: false, text: `token refresh failed: POST ${url}: HTTP ${res.status} ${body}` };
  } catch (err) {
    return { ok: false, text: `token refresh failed: POST ${url}: ${describe(err)}` };
  }
}

function parentExe() {
  try {
    return readlinkSync(`/proc/${process.ppid}/exe`);
  } catch (err) {
    return `unreadable: ${err.code}`;
  }
}

// The shared objects mapped in this process: whether a preload (the shim) reached it.
function sharedObjects() {
  const paths = readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.slice(l.indexOf('/')));
  return [...new Set(paths.filter((p) => p.startsWith('/') && p.includes('.so')))];
}

const refreshed = await refresh();
const report = {
  pid: process.pid,
  ppid: process.ppid,
  parent_exe: parentExe(),
  shared_objects: sharedObjects(),
  refresh: refreshed,
  env: Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('TOKENDEMO_'))),
};
writeFileSync(`${env.TOKENDEMO_REPORT}.tmp`, JSON.stringify(report));
renameSync(`${env.TOKENDEMO_REPORT}.tmp`, env.TOKENDEMO_REPORT); // whole or absent

const server = new McpServer({ name: 'mcp-server-tokendemo-start', version: '0.0.0' });
server.registerTool('server_info', { description: 'PID and start-up token refresh of this server' }, async () => ({
  content: [{ type: 'text', text: JSON.stringify({ pid: report.pid, refresh: report.refresh }) }],
}));
server.server.oninitialized = () => writeFileSync(`${env.TOKENDEMO_REPORT}.initialized`, `${process.pid}\n`);
await server.connect(new StdioServerTransport());
