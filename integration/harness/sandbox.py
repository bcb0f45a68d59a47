"""Brings up the sandbox stand-in on 127.0.0.1: the upstream service (token endpoint + API) and
mitmdump proxies (each with a fresh confdir, so a fresh CA, and a flow log), and builds the
"agent" environment an OpenShell sandbox gives the gateway, pointing at the first proxy.
"""

import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .procs import Procs, wait_until

HERE = Path(__file__).resolve().parent.parent  # integration/
VENV_BIN = HERE / ".venv" / "bin"
API_HOST = "api.sandbox.test"  # does not resolve: reachable only through the proxy
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CLIENT_ID = "tokendemo"

# Every key the shim's block can carry, plus the CA/proxy keys this machine's own environment
# sets: the gateway must start from the sandbox's values only, or the shim would pass the
# machine's instead and the test would prove nothing.
SCRUB = """HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy grpc_proxy
NODE_USE_ENV_PROXY NODE_EXTRA_CA_CERTS DENO_CERT SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE
GIT_SSL_CAINFO PIP_CERT AWS_CA_BUNDLE NPM_CONFIG_CAFILE GRPC_DEFAULT_SSL_ROOTS_FILE_PATH NIX_SSL_CERT_FILE
CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE HTTPLIB2_CA_CERTS NODE_OPTIONS OPENSHELL_SANDBOX LD_PRELOAD
MCP_ENV_SHIM MCP_ENV_SHIM_LOG MCP_ENV_SHIM_CONFIG PYTHONPATH""".split()


@dataclass
class Proxy:
    name: str
    url: str
    ca: Path  # mitmproxy's generated CA: "the sandbox CA"
    bundle: Path  # system bundle + that CA: the sandbox's ca-bundle.pem
    flow_log: Path

    def mark(self) -> int:
        """Where the flow log ends now: lines() after it are a later scenario's."""
        return self.flow_log.stat().st_size if self.flow_log.exists() else 0

    def lines(self, since: int) -> list[dict]:
        if not self.flow_log.exists():
            return []
        with open(self.flow_log, "rb") as f:
            f.seek(since)
            return [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]


@dataclass
class Upstream:
    api_url: str  # the resource API on loopback (NO_PROXY): reached without any proxy
    token_url: str  # the OAuth endpoint on api.sandbox.test: reached only through a proxy
    client_secret: str
    mint_url: str


def start_upstream(procs: Procs, work: Path) -> tuple[Upstream, int]:
    certs = work / "upstream-certs"
    subprocess.run([str(VENV_BIN / "python"), str(HERE / "upstream" / "make_certs.py"), str(certs), API_HOST],
                   check=True)
    ready, log = work / "upstream.ready.json", work / "upstream.out"
    secret = secrets.token_hex(8)
    proc = procs.start("upstream", [str(VENV_BIN / "python"), str(HERE / "upstream" / "service.py"), str(certs),
                                    str(ready), str(work / "upstream.requests.log"), CLIENT_ID, secret], log)
    ports = wait_until("upstream", lambda: ready.exists() and json.loads(ready.read_text()), 30, proc, log)
    up = Upstream(api_url=f"http://127.0.0.1:{ports['http_port']}",
                  token_url=f"https://{API_HOST}/oauth/token",
                  client_secret=secret,
                  mint_url=f"http://127.0.0.1:{ports['http_port']}/control/mint?uses=1")
    return up, ports["tls_port"]


def start_proxy(procs: Procs, work: Path, name: str, upstream_tls_port: int, options: dict | None = None) -> Proxy:
    d = work / name
    confdir = d / "confdir"
    confdir.mkdir(parents=True)
    ready, log, flow = d / "ready.json", d / "mitmdump.out", d / "flow.log"
    argv = [str(VENV_BIN / "mitmdump"), "--listen-host", "127.0.0.1", "--listen-port", "0",
            "--set", f"confdir={confdir}",
            "-s", str(HERE / "proxy" / "sandbox_proxy.py"),
            "--set", f"route_host={API_HOST}",
            "--set", f"route_to=127.0.0.1:{upstream_tls_port}",
            "--set", f"flow_log={flow}",
            "--set", f"ready_file={ready}",
            "--set", f"ssl_verify_upstream_trusted_ca={work / 'upstream-certs' / 'upstream-ca.pem'}"]
    for key, value in (options or {}).items():
        argv += ["--set", f"{key}={value}"]
    proc = procs.start(name, argv, log)
    port = wait_until(name, lambda: ready.exists() and json.loads(ready.read_text())["port"], 60, proc, log)
    ca = confdir / "mitmproxy-ca-cert.pem"
    wait_until(f"{name} CA", ca.exists, 10, proc, log)  # written before listening; checked anyway
    bundle = d / "ca-bundle.pem"
    bundle.write_bytes(SYSTEM_BUNDLE.read_bytes().rstrip(b"\n") + b"\n" + ca.read_bytes())
    return Proxy(name=name, url=f"http://127.0.0.1:{port}", ca=ca, bundle=bundle, flow_log=flow)


def agent_env(proxy: Proxy) -> dict:
    """The gateway's environment: the machine's, scrubbed, plus exactly what OpenShell sets."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "grpc_proxy"):
        env[key] = proxy.url
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    env["NODE_USE_ENV_PROXY"] = "1"
    env["NODE_EXTRA_CA_CERTS"] = env["DENO_CERT"] = str(proxy.ca)
    for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"):
        env[key] = str(proxy.bundle)
    env["OPENSHELL_SANDBOX"] = "1"
    return env
