//! The block: the proxy and CA keys an OpenShell sandbox gives its agent, which MCP clients drop
//! when they start a stdio server. Pure data; `session` turns it into prepared `KEY=VALUE`
//! strings at load time.

/// What a key holds, which decides where a missing value may be borrowed from and whether the
/// value must name an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A proxy URL or a `NO_PROXY` list.
    Proxy(ProxyRole),
    /// A file holding the sandbox CA alone; read by runtimes that *add* it to their roots.
    CaAdd,
    /// A CA bundle (public roots + sandbox CA); read by runtimes that *replace* their roots.
    CaBundle,
    /// A directory of CA certificates.
    CaDir,
    /// A plain flag such as `NODE_USE_ENV_PROXY=1`.
    Flag,
    /// A key the config file added; its value comes from the config or the host only.
    Extra,
}

/// Proxy keys that mean the same thing and may stand in for each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyRole {
    Http,
    Https,
    All,
    No,
}

/// One key of the built-in block.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    pub name: &'static str,
    pub kind: Kind,
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        self.name.as_bytes()
    }
}

const fn key(name: &'static str, kind: Kind) -> Key {
    Key { name, kind }
}

/// The built-in block, in the order the keys are appended to a child's envp.
pub const BUILTIN: &[Key] = &[
    key("HTTP_PROXY", Kind::Proxy(ProxyRole::Http)),
    key("HTTPS_PROXY", Kind::Proxy(ProxyRole::Https)),
    key("ALL_PROXY", Kind::Proxy(ProxyRole::All)),
    key("NO_PROXY", Kind::Proxy(ProxyRole::No)),
    key("http_proxy", Kind::Proxy(ProxyRole::Http)),
    key("https_proxy", Kind::Proxy(ProxyRole::Https)),
    key("all_proxy", Kind::Proxy(ProxyRole::All)),
    key("no_proxy", Kind::Proxy(ProxyRole::No)),
    key("grpc_proxy", Kind::Proxy(ProxyRole::All)),
    key("NODE_USE_ENV_PROXY", Kind::Flag),
    key("NODE_EXTRA_CA_CERTS", Kind::CaAdd),
    key("DENO_CERT", Kind::CaAdd),
    key("SSL_CERT_FILE", Kind::CaBundle),
    key("SSL_CERT_DIR", Kind::CaDir),
    key("REQUESTS_CA_BUNDLE", Kind::CaBundle),
    key("CURL_CA_BUNDLE", Kind::CaBundle),
    key("GIT_SSL_CAINFO", Kind::CaBundle),
    key("PIP_CERT", Kind::CaBundle),
    key("AWS_CA_BUNDLE", Kind::CaBundle),
    key("NPM_CONFIG_CAFILE", Kind::CaBundle),
];

/// At most this many keys in a block (built-in plus extra): presence is tracked in a `u64`.
pub const MAX_KEYS: usize = 64;

/// The keys whose value may stand in for `kind`'s when the host lacks it, best first.
///
/// A CA bundle can serve where the CA alone is expected (it holds the CA), never the reverse:
/// a runtime that replaces its roots with the CA alone would lose every public root.
pub fn siblings(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Proxy(ProxyRole::Http) => &["HTTP_PROXY", "http_proxy"],
        Kind::Proxy(ProxyRole::Https) => &["HTTPS_PROXY", "https_proxy"],
        Kind::Proxy(ProxyRole::All) => &[
            "ALL_PROXY",
            "all_proxy",
            "grpc_proxy",
            "HTTPS_PROXY",
            "https_proxy",
        ],
        Kind::Proxy(ProxyRole::No) => &["NO_PROXY", "no_proxy"],
        Kind::CaAdd => &[
            "NODE_EXTRA_CA_CERTS",
            "DENO_CERT",
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
        ],
        Kind::CaBundle => &[
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
            "GIT_SSL_CAINFO",
        ],
        Kind::CaDir | Kind::Flag | Kind::Extra => &[],
    }
}

/// The TLS directory of an OpenShell sandbox unless `OPENSHELL_PROXY_TLS_DIR` moves it.
pub const OPENSHELL_TLS_DIR: &str = "/etc/openshell-tls";
/// The sidecar setup's TLS directory.
pub const OPENSHELL_SIDECAR_TLS_DIR: &str = "/etc/openshell-tls/proxy";
pub const OPENSHELL_CA: &str = "openshell-ca.pem";
/// The sandbox CA in each setup's directory, spelled out (no joining at load).
pub const OPENSHELL_CA_PATH: &str = "/etc/openshell-tls/openshell-ca.pem";
pub const OPENSHELL_SIDECAR_CA_PATH: &str = "/etc/openshell-tls/proxy/openshell-ca.pem";
/// The same two paths NUL-terminated, for `stat` on the exec path.
pub const OPENSHELL_CA_PATH_Z: &[u8] = b"/etc/openshell-tls/openshell-ca.pem\0";
pub const OPENSHELL_SIDECAR_CA_PATH_Z: &[u8] = b"/etc/openshell-tls/proxy/openshell-ca.pem\0";
pub const OPENSHELL_BUNDLE: &str = "ca-bundle.pem";
/// The proxy of the network-namespace setup; the sidecar's is only ever taken from the host.
pub const OPENSHELL_PROXY: &str = "http://10.200.0.1:3128";
pub const OPENSHELL_NO_PROXY: &str = "127.0.0.1,localhost,::1";

/// The built-in OpenShell value of `kind` as two parts to join, given the sandbox's TLS
/// directory (a CA path is the directory and a file name). Borrowed, not built: the exec path
/// writes it into its scratch memory. `NODE_USE_ENV_PROXY` has no default of its own: it is
/// implied by an injected proxy key (see `values`).
pub fn openshell_default(kind: Kind, tls_dir: &str) -> Option<(&str, &'static str)> {
    match kind {
        Kind::Proxy(ProxyRole::No) => Some((OPENSHELL_NO_PROXY, "")),
        Kind::Proxy(_) => Some((OPENSHELL_PROXY, "")),
        Kind::CaAdd => Some((tls_dir, CA_SUFFIX)),
        Kind::CaBundle => Some((tls_dir, BUNDLE_SUFFIX)),
        Kind::CaDir | Kind::Flag | Kind::Extra => None,
    }
}

const CA_SUFFIX: &str = "/openshell-ca.pem";
const BUNDLE_SUFFIX: &str = "/ca-bundle.pem";

/// The longest default value, not counting the TLS directory.
pub const LONGEST_DEFAULT: usize = 24;

/// Whether a value of `kind` names a path that must exist for the key to be injected.
pub fn names_a_path(kind: Kind) -> bool {
    matches!(kind, Kind::CaAdd | Kind::CaBundle | Kind::CaDir)
}

/// Whether `name` is a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_keys_are_unique_valid_and_fit_the_presence_mask() {
        for (i, k) in BUILTIN.iter().enumerate() {
            assert!(valid_name(k.name), "{}", k.name);
            assert!(BUILTIN[..i].iter().all(|o| o.name != k.name), "{}", k.name);
        }
        assert!(BUILTIN.len() <= MAX_KEYS);
    }

    #[test]
    fn a_bundle_never_borrows_the_ca_alone() {
        for s in siblings(Kind::CaBundle) {
            let k = BUILTIN.iter().find(|k| k.name == *s).unwrap();
            assert_eq!(k.kind, Kind::CaBundle, "{s}");
        }
    }

    #[test]
    fn openshell_defaults_follow_the_tls_dir_and_fit_the_bound() {
        assert_eq!(
            openshell_default(Kind::CaAdd, "/x"),
            Some(("/x", "/openshell-ca.pem"))
        );
        assert_eq!(
            openshell_default(Kind::CaBundle, "/x"),
            Some(("/x", "/ca-bundle.pem"))
        );
        assert_eq!(openshell_default(Kind::CaDir, "/x"), None);
        assert_eq!(openshell_default(Kind::Flag, "/x"), None);
        for k in BUILTIN {
            if let Some((a, b)) = openshell_default(k.kind, "") {
                assert!(a.len() + b.len() <= LONGEST_DEFAULT, "{}", k.name);
            }
        }
    }

    #[test]
    fn the_spelled_out_ca_paths_are_the_directories_and_the_file() {
        assert_eq!(
            OPENSHELL_CA_PATH,
            format!("{OPENSHELL_TLS_DIR}/{OPENSHELL_CA}")
        );
        assert_eq!(
            OPENSHELL_SIDECAR_CA_PATH,
            format!("{OPENSHELL_SIDECAR_TLS_DIR}/{OPENSHELL_CA}")
        );
    }

    #[test]
    fn the_default_paths_name_the_openshell_files() {
        assert_eq!(
            OPENSHELL_CA_PATH_Z,
            format!("{OPENSHELL_CA_PATH}\0").as_bytes()
        );
        assert_eq!(
            OPENSHELL_SIDECAR_CA_PATH_Z,
            format!("{OPENSHELL_SIDECAR_CA_PATH}\0").as_bytes()
        );
        assert_eq!(CA_SUFFIX.strip_prefix('/'), Some(OPENSHELL_CA));
        assert_eq!(BUNDLE_SUFFIX.strip_prefix('/'), Some(OPENSHELL_BUNDLE));
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"));
        assert!(!valid_name("1ABC"));
        assert!(!valid_name("A=B"));
        assert!(!valid_name(""));
    }
}
