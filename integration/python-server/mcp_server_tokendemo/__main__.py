"""mcp_server_tokendemo (Python): a stdio MCP server on the official `mcp` package, run as
`python -m mcp_server_tokendemo`. Its tool `get_data` calls the API with a cached bearer token;
when the API says the token expired, it refreshes the token at the OAuth endpoint over HTTPS
with httpx and retries. httpx (trust_env, the default) honours HTTP(S)_PROXY/ALL_PROXY/NO_PROXY,
and the pinned httpx 0.28.1 reads SSL_CERT_FILE itself (httpx/_config.py), so no ssl context is
built here. Documented env: TOKENDEMO_API_URL, TOKENDEMO_TOKEN_URL, TOKENDEMO_CLIENT_ID,
TOKENDEMO_CLIENT_SECRET, TOKENDEMO_CACHED_TOKEN.
"""

import json
import os

import httpx
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError

API_URL = os.environ.get("TOKENDEMO_API_URL", "")
TOKEN_URL = os.environ.get("TOKENDEMO_TOKEN_URL", "")
state = {"token": os.environ.get("TOKENDEMO_CACHED_TOKEN", "")}
mcp = FastMCP("mcp-server-tokendemo")


def describe(err: BaseException) -> str:
    """The whole cause chain: httpx's top-level message alone can hide the real failure."""
    parts, seen = [], 0
    e: BaseException | None = err
    while e is not None and seen < 6:
        part = f"{type(e).__name__}: {e}"
        if not parts or parts[-1] != part:  # httpx re-raises httpcore's error under the same name
            parts.append(part)
        e, seen = e.__cause__ or e.__context__, seen + 1
    return " <- ".join(parts)


async def refresh(client: httpx.AsyncClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": os.environ.get("TOKENDEMO_CLIENT_ID", ""),
        "client_secret": os.environ.get("TOKENDEMO_CLIENT_SECRET", ""),
    }
    try:
        res = await client.post(TOKEN_URL, data=form)
    except httpx.HTTPError as err:
        raise ToolError(f"token refresh failed: POST {TOKEN_URL}: {describe(err)}") from err
    if res.status_code != 200:
        raise ToolError(f"token refresh failed: POST {TOKEN_URL}: HTTP {res.status_code} {res.text}")
    state["token"] = res.json()["access_token"]


async def call_api(client: httpx.AsyncClient) -> httpx.Response:
    url = f"{API_URL}/api/data"
    try:
        return await client.get(url, headers={"authorization": f"Bearer {state['token']}"})
    except httpx.HTTPError as err:
        raise ToolError(f"GET {url}: {describe(err)}") from err


@mcp.tool()
def server_info() -> str:
    """PID and proxy settings of this server process (joins with the shim's and proxy's logs)."""
    env = os.environ
    return json.dumps({
        "runtime": "python",
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "https_proxy": env.get("https_proxy", env.get("HTTPS_PROXY")),
        "ssl_cert_file": env.get("SSL_CERT_FILE"),
        # What the process was started with, less its own settings (they hold a secret).
        "env": {k: v for k, v in env.items() if not k.startswith("TOKENDEMO_")},
    })


@mcp.tool()
async def get_data() -> str:
    """Fetch data from the API, refreshing the token if it expired."""
    async with httpx.AsyncClient(timeout=20) as client:
        res = await call_api(client)
        if res.status_code == 401:
            if "token expired" not in res.text:
                raise ToolError(f"API refused the token: {res.text}")
            await refresh(client)
            res = await call_api(client)
        if res.status_code != 200:
            raise ToolError(f"GET {API_URL}/api/data: HTTP {res.status_code} {res.text}")
        return res.text


if __name__ == "__main__":
    mcp.run()  # stdio
