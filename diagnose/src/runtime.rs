//! Which variables a runtime reads (shared/RUNTIMES.md): what `ca-ignored` and `proxy-ignored`
//! tell the operator, and the key a fix should name.

use crate::join::Binary;
use crate::shimlog::basename;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    Node,
    Bun,
    Deno,
    Python,
    Go,
    Java,
    Curl,
    Git,
    Unknown,
}

impl Runtime {
    /// From the socket owner's binary (and, for a Go binary, what `/proc` found).
    pub fn of(exe: &str, binary: Binary) -> Runtime {
        let n = basename(exe);
        match n {
            "node" | "nodejs" => Runtime::Node,
            "bun" => Runtime::Bun,
            "deno" => Runtime::Deno,
            "java" => Runtime::Java,
            "curl" => Runtime::Curl,
            "git" | "git-remote-https" => Runtime::Git,
            _ if n.starts_with("python") || n.starts_with("pypy") => Runtime::Python,
            _ if binary == Binary::Go => Runtime::Go,
            _ => Runtime::Unknown,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Node => "Node",
            Runtime::Bun => "Bun",
            Runtime::Deno => "Deno",
            Runtime::Python => "Python",
            Runtime::Go => "Go",
            Runtime::Java => "Java",
            Runtime::Curl => "curl",
            Runtime::Git => "git",
            Runtime::Unknown => "its runtime",
        }
    }

    /// The CA keys it reads; empty when it reads none (Java) or it is not known.
    pub fn ca_keys(self) -> &'static [&'static str] {
        match self {
            Runtime::Node | Runtime::Bun => &["NODE_EXTRA_CA_CERTS"],
            Runtime::Deno => &["DENO_CERT"],
            Runtime::Python => &[
                "SSL_CERT_FILE",
                "SSL_CERT_DIR",
                "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE",
            ],
            Runtime::Go => &["SSL_CERT_FILE", "SSL_CERT_DIR"],
            Runtime::Curl => &["CURL_CA_BUNDLE"],
            Runtime::Git => &["GIT_SSL_CAINFO"],
            Runtime::Java | Runtime::Unknown => &[],
        }
    }

    /// The key a fix names for this runtime's CA.
    pub fn ca_key(self) -> &'static str {
        self.ca_keys().first().copied().unwrap_or("SSL_CERT_FILE")
    }

    /// Which trust store it reads, for `ca-ignored`.
    pub fn ca_note(self) -> &'static str {
        match self {
            Runtime::Node => "Node adds NODE_EXTRA_CA_CERTS to its roots only when it is in the environment at start-up, and a client given its own `ca` option (or a bundled CA list) ignores it",
            Runtime::Bun => "Bun reads NODE_EXTRA_CA_CERTS; a client given its own `ca` option ignores it",
            Runtime::Deno => "Deno reads DENO_CERT",
            Runtime::Python => "Python's ssl reads SSL_CERT_FILE/SSL_CERT_DIR, requests reads REQUESTS_CA_BUNDLE (then CURL_CA_BUNDLE) and ignores SSL_CERT_FILE, httpx uses certifi unless its version honours SSL_CERT_FILE, aiohttp the default ssl context",
            Runtime::Go => "Go reads SSL_CERT_FILE/SSL_CERT_DIR; a binary built with its own roots (x509roots/fallback) ignores them",
            Runtime::Java => "Java reads no CA variable: it needs a trust store, JAVA_TOOL_OPTIONS=-Djavax.net.ssl.trustStore=... (PKCS12 or JKS, not PEM)",
            Runtime::Curl => "curl reads CURL_CA_BUNDLE",
            Runtime::Git => "git reads GIT_SSL_CAINFO (gnutls builds ignore SSL_CERT_FILE)",
            Runtime::Unknown => "most OpenSSL-based programs read SSL_CERT_FILE; Node reads NODE_EXTRA_CA_CERTS, Java a trust store",
        }
    }

    /// Why it connected directly although it had the proxy keys, for `proxy-ignored`.
    pub fn proxy_note(self, node_use_env_proxy: bool) -> String {
        match self {
            Runtime::Node if node_use_env_proxy => "Node's built-in fetch and http/https honour the proxy variables only from Node 22.21 / 24.5 with NODE_USE_ENV_PROXY=1, which it was given: an older Node, or a client with its own agent, ignores them".into(),
            Runtime::Node => "Node's built-in fetch and http/https ignore every proxy variable unless NODE_USE_ENV_PROXY=1 (Node 22.21 / 24.5 and later), which it did not get".into(),
            Runtime::Python => "Python clients differ: aiohttp reads the proxy variables only with trust_env=True, and a client built with trust_env=False or its own transport ignores them".into(),
            Runtime::Curl => "curl reads http_proxy only in lowercase; a --noproxy or an explicit --proxy wins".into(),
            Runtime::Java => "Java reads no proxy variable: it needs -Dhttps.proxyHost/-Dhttps.proxyPort".into(),
            Runtime::Go => "Go reads HTTP(S)_PROXY through http.ProxyFromEnvironment, which a client with its own Transport does not use".into(),
            _ => "its HTTP client does not read the proxy variables".into(),
        }
    }

    pub fn proxy_fix(self) -> &'static str {
        match self {
            Runtime::Node => "run the server on Node 22.21 / 24.5 or later (NODE_USE_ENV_PROXY=1 makes fetch and https use the proxy), or send its requests through undici's EnvHttpProxyAgent",
            Runtime::Python => "make the server's HTTP client read the environment (aiohttp: trust_env=True)",
            Runtime::Java => "give it JAVA_TOOL_OPTIONS=-Dhttps.proxyHost=... -Dhttps.proxyPort=...",
            _ => "configure the server's HTTP client to use the proxy in HTTPS_PROXY",
        }
    }

    pub fn ca_fix(self, value: &str) -> String {
        match self {
            Runtime::Java => "import the sandbox CA into a PKCS12 trust store and give it JAVA_TOOL_OPTIONS=-Djavax.net.ssl.trustStore=PATH".into(),
            Runtime::Python => format!("point the server's HTTP client at {value} (requests: REQUESTS_CA_BUNDLE; httpx: verify=ssl.create_default_context(cafile=...), or a version that reads SSL_CERT_FILE)"),
            Runtime::Node => format!("drop the server's own `ca` option, or add {value} to it"),
            _ => format!("make it read {value} ({})", self.ca_key()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_told_from_the_binary() {
        assert_eq!(Runtime::of("/usr/bin/node", Binary::Unknown), Runtime::Node);
        assert_eq!(
            Runtime::of("/usr/bin/python3.11", Binary::Unknown),
            Runtime::Python
        );
        assert_eq!(Runtime::of("/opt/mcp-grafana", Binary::Go), Runtime::Go);
        assert_eq!(
            Runtime::of("/opt/mcp-grafana", Binary::Unknown),
            Runtime::Unknown
        );
        assert_eq!(Runtime::Go.ca_key(), "SSL_CERT_FILE");
        assert!(Runtime::Java.ca_note().contains("trust store"));
    }
}
