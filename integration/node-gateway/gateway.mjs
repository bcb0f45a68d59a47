// Node gateway: an MCP client on the official SDK's StdioClientTransport, started the way a
// gateway starts its servers (only the server's declared env; the SDK adds HOME LOGNAME PATH
// SHELL TERM USER). Usage: node gateway.mjs '<json {command, args, env}>'. Calls server_info,
// then get_data twice, and prints one JSON object: {server, calls: [{ok, text}, ...]}.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const entry = JSON.parse(process.argv[2]);
const transport = new StdioClientTransport({
  command: entry.command,
  args: entry.args ?? [],
  env: entry.env,
  stderr: 'inherit',
});
const client = new Client({ name: 'tokendemo-gateway-node', version: '0.0.0' });

// A failed call is data for the test, not a crash of the gateway.
async function call(name) {
  try {
    const res = await client.callTool({ name, arguments: {} });
    return { ok: !res.isError, text: res.content.map((c) => c.text ?? '').join('\n') };
  } catch (err) {
    return { ok: false, text: `gateway error: ${err.message}` };
  }
}

const out = { server: null, calls: [] };
try {
  await client.connect(transport);
  const info = await call('server_info');
  out.server = info.ok ? JSON.parse(info.text) : { error: info.text };
  out.calls.push(await call('get_data'));
  out.calls.push(await call('get_data'));
} catch (err) {
  out.error = `gateway error: ${err.message}`;
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(out) + '\n');
