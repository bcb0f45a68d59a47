#!/usr/bin/env node
// mcp-server-tokendemo (Node): a stdio MCP server built like real ones. Its tool `get_data` calls
// the API with a cached bearer token; when the API says the token expired, it refreshes it at the
// OAuth token endpoint over HTTPS and retries. HTTP goes through undici's EnvHttpProxyAgent, which
// honours http(s)_proxy/no_proxy (Node 20 has no NODE_USE_ENV_PROXY); the CA comes from Node's
// NODE_EXTRA_CA_CERTS. Documented env: TOKENDEMO_API_URL, TOKENDEMO_TOKEN_URL,
// TOKENDEMO_CLIENT_ID, TOKENDEMO_CLIENT_SECRET, TOKENDEMO_CACHED_TOKEN, and TOKENDEMO_FETCH=builtin
// to refresh with Node's built-in fetch instead, as many servers do (it ignores the proxy
// variables unless NODE_USE_ENV_PROXY=1 on Node >= 22.21 / 24.5).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { EnvHttpProxyAgent, fetch } from 'undici';

const env = process.env;
const apiUrl = env.TOKENDEMO_API_URL;
const tokenUrl = env.TOKENDEMO_TOKEN_URL;
// Built once, at start-up, as real servers do: the proxy variables must be there at exec.
const dispatcher = new EnvHttpProxyAgent();
let token = env.TOKENDEMO_CACHED_TOKEN || '';

// The whole cause chain, with codes: "fetch failed" alone is what hides the real failure.
function describe(err) {
  const parts = [];
  for (let e = err; e; e = e.cause) {
    parts.push(e.code ? `${e.message} [${e.code}]` : String(e.message ?? e));
    if (parts.length > 5) break;
  }
  return parts.join(' <- ');
}

async function refresh() {
  let res;
  try {
    const viaBuiltin = env.TOKENDEMO_FETCH === 'builtin';
    res = await (viaBuiltin ? globalThis.fetch : fetch)(tokenUrl, {
      method: 'POST',
      ...(viaBuiltin ? {} : { dispatcher }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: env.TOKENDEMO_CLIENT_ID || '',
        client_secret: env.TOKENDEMO_CLIENT_SECRET || '',
      }),
    });
  } catch (err) {
    throw new Error(`token refresh failed: POST ${tokenUrl}: ${describe(err)}`);
  }
  const body = await res.text();
  if (!res.ok) throw new Error(`token refresh failed: POST ${tokenUrl}: HTTP ${res.status} ${body}`);
  token = JSON.parse(body).access_token;
}

async function callApi() {
  try {
    return await fetch(`${apiUrl}/api/data`, { dispatcher, headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new Error(`GET ${apiUrl}/api/data: ${describe(err)}`);
  }
}

async function getData() {
  let res = await callApi();
  if (res.status === 401) {
    const why = await res.text();
    if (!why.includes('token expired')) throw new Error(`API refused the token: ${why}`);
    await refresh();
    res = await callApi();
  }
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${apiUrl}/api/data: HTTP ${res.status} ${body}`);
  return body;
}

const server = new McpServer({ name: 'mcp-server-tokendemo', version: '0.0.0' });

// Lets the gateway join the server's PID with the shim's and the proxy's logs.
server.registerTool('server_info', { description: 'PID and proxy settings of this server process' }, async () => ({
  content: [{
    type: 'text',
    text: JSON.stringify({
      runtime: 'node',
      pid: process.pid,
      ppid: process.ppid,
      https_proxy: env.https_proxy ?? env.HTTPS_PROXY ?? null,
      node_extra_ca_certs: env.NODE_EXTRA_CA_CERTS ?? null,
      // What the process was started with, less its own settings (they hold a secret).
      env: Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('TOKENDEMO_'))),
    }),
  }],
}));

server.registerTool('get_data', { description: 'Fetch data from the API, refreshing the token if it expired' }, async () => {
  try {
    return { content: [{ type: 'text', text: await getData() }] };
  } catch (err) {
    return { isError: true, content: [{ type: 'text', text: err.message }] };
  }
});

await server.connect(new StdioServerTransport());
