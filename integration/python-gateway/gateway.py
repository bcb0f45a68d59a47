"""Python gateway: an MCP client on the official SDK's stdio_client, started the way a gateway
starts its servers (only the server's declared env; the SDK adds HOME LOGNAME PATH SHELL TERM
USER). Usage: python gateway.py '<json {command, args, env}>'. Calls server_info, then get_data
twice, and prints one JSON object: {server, calls: [{ok, text}, ...]}.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def call(session: ClientSession, name: str) -> dict:
    # A failed call is data for the test, not a crash of the gateway.
    try:
        res = await session.call_tool(name, {})
        text = "\n".join(getattr(c, "text", "") for c in res.content)
        return {"ok": not res.isError, "text": text}
    except Exception as err:  # noqa: BLE001
        return {"ok": False, "text": f"gateway error: {type(err).__name__}: {err}"}


async def main() -> None:
    entry = json.loads(sys.argv[1])
    params = StdioServerParameters(command=entry["command"], args=entry.get("args", []), env=entry.get("env"))
    out: dict = {"server": None, "calls": []}
    try:
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                info = await call(session, "server_info")
                out["server"] = json.loads(info["text"]) if info["ok"] else {"error": info["text"]}
                out["calls"].append(await call(session, "get_data"))
                out["calls"].append(await call(session, "get_data"))
    except Exception as err:  # noqa: BLE001
        out["error"] = f"gateway error: {type(err).__name__}: {err}"
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
