//! Unit tests of `Session::prepare`: where each value comes from, what is left out and why,
//! the flag, the config and secure mode.

use super::*;
use std::collections::HashMap;

#[derive(Default)]
struct FakeFs {
    files: HashMap<String, String>,
}

impl FakeFs {
    fn with(mut self, path: &str, text: &str) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }
}

impl Fs for FakeFs {
    fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
    fn read(&self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| "No such file or directory".into())
    }
}

fn prepare(env: &[(&str, &str)], secure: bool, fs: &FakeFs) -> Session {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Session::prepare(&|k: &str| env.get(k).cloned(), secure, fs)
}

fn value(s: &Session, key: &str) -> Option<String> {
    let i = s.names.iter().position(|n| **n == *key.as_bytes())?;
    let kv = s.entries[i].kv.as_deref()?;
    assert!(kv.starts_with(format!("{key}=").as_bytes()) && kv.ends_with(&[0]));
    s.entries[i].value().map(str::to_string)
}

fn source(s: &Session, key: &str) -> Option<Source> {
    let i = s.names.iter().position(|n| **n == *key.as_bytes())?;
    s.entries[i].source.clone()
}

fn missing(s: &Session) -> serde_json::Value {
    serde_json::from_slice(&s.missing_json).unwrap()
}

const SANDBOX_HOST: &[(&str, &str)] = &[
    ("HTTPS_PROXY", "http://127.0.0.1:3128"),
    ("HTTP_PROXY", "http://127.0.0.1:3128"),
    ("NO_PROXY", "localhost,127.0.0.1"),
    ("NODE_EXTRA_CA_CERTS", "/tls/ca.pem"),
    ("SSL_CERT_FILE", "/tls/bundle.pem"),
];

fn tls_files() -> FakeFs {
    FakeFs::default()
        .with("/tls/ca.pem", "")
        .with("/tls/bundle.pem", "")
}

#[test]
fn host_values_are_used_and_siblings_fill_the_other_spellings() {
    let s = prepare(SANDBOX_HOST, false, &tls_files());
    assert_eq!(s.mode, Mode::Mcp);
    assert_eq!(
        value(&s, "HTTPS_PROXY").as_deref(),
        Some("http://127.0.0.1:3128")
    );
    assert_eq!(source(&s, "HTTPS_PROXY"), Some(Source::Host));
    assert_eq!(
        value(&s, "https_proxy").as_deref(),
        Some("http://127.0.0.1:3128")
    );
    assert_eq!(
        source(&s, "https_proxy"),
        Some(Source::Sibling("HTTPS_PROXY"))
    );
    assert_eq!(
        value(&s, "no_proxy").as_deref(),
        Some("localhost,127.0.0.1")
    );
    assert_eq!(
        value(&s, "grpc_proxy").as_deref(),
        Some("http://127.0.0.1:3128")
    );
    assert_eq!(
        value(&s, "REQUESTS_CA_BUNDLE").as_deref(),
        Some("/tls/bundle.pem")
    );
    assert_eq!(value(&s, "DENO_CERT").as_deref(), Some("/tls/ca.pem"));
}

#[test]
fn outside_a_sandbox_a_key_without_any_value_is_left_out_and_said_so() {
    let s = prepare(SANDBOX_HOST, false, &tls_files());
    assert_eq!(
        value(&s, "NODE_USE_ENV_PROXY"),
        None,
        "no default outside a sandbox"
    );
    assert_eq!(value(&s, "SSL_CERT_DIR"), None);
    assert_eq!(missing(&s)["NODE_USE_ENV_PROXY"], "no-value");
    assert_eq!(missing(&s)["SSL_CERT_DIR"], "no-value");
}

#[test]
fn the_host_mask_records_only_what_the_host_itself_had() {
    let s = prepare(SANDBOX_HOST, false, &tls_files());
    assert_eq!(s.host_has.count_ones(), 5);
    assert!(s.with_value.count_ones() > 5);
}

#[test]
fn a_ca_file_that_does_not_exist_is_not_injected() {
    let s = prepare(
        SANDBOX_HOST,
        false,
        &FakeFs::default().with("/tls/ca.pem", ""),
    );
    assert_eq!(value(&s, "SSL_CERT_FILE"), None);
    assert_eq!(missing(&s)["SSL_CERT_FILE"], "ca-file-not-found");
    assert_eq!(
        value(&s, "NODE_EXTRA_CA_CERTS").as_deref(),
        Some("/tls/ca.pem")
    );
}

#[test]
fn a_bundle_is_never_filled_from_the_ca_alone() {
    let env = [("NODE_EXTRA_CA_CERTS", "/tls/ca.pem")];
    let s = prepare(&env, false, &tls_files());
    assert_eq!(value(&s, "SSL_CERT_FILE"), None);
    assert_eq!(value(&s, "DENO_CERT").as_deref(), Some("/tls/ca.pem"));
}

#[test]
fn in_an_openshell_sandbox_the_built_in_defaults_fill_the_gaps() {
    let fs = FakeFs::default()
        .with("/etc/openshell-tls/openshell-ca.pem", "")
        .with("/etc/openshell-tls/ca-bundle.pem", "");
    let s = prepare(&[], false, &fs);
    assert_eq!(
        value(&s, "HTTPS_PROXY").as_deref(),
        Some("http://10.200.0.1:3128")
    );
    assert_eq!(
        value(&s, "NO_PROXY").as_deref(),
        Some("127.0.0.1,localhost,::1")
    );
    assert_eq!(value(&s, "NODE_USE_ENV_PROXY").as_deref(), Some("1"));
    assert_eq!(
        value(&s, "NODE_EXTRA_CA_CERTS").as_deref(),
        Some("/etc/openshell-tls/openshell-ca.pem")
    );
    assert_eq!(
        value(&s, "SSL_CERT_FILE").as_deref(),
        Some("/etc/openshell-tls/ca-bundle.pem")
    );
    assert_eq!(source(&s, "SSL_CERT_FILE"), Some(Source::OpenShell));
    assert_eq!(s.host_has, 0);
}

#[test]
fn the_sandbox_flag_and_a_moved_tls_dir_are_honoured() {
    let fs = FakeFs::default().with("/run/tls/openshell-ca.pem", "");
    let env = [
        ("OPENSHELL_SANDBOX", "1"),
        ("OPENSHELL_PROXY_TLS_DIR", "/run/tls/"),
    ];
    let s = prepare(&env, false, &fs);
    assert_eq!(
        value(&s, "DENO_CERT").as_deref(),
        Some("/run/tls/openshell-ca.pem")
    );
    assert_eq!(missing(&s)["SSL_CERT_FILE"], "ca-file-not-found");
    let sidecar = FakeFs::default().with("/etc/openshell-tls/proxy/openshell-ca.pem", "");
    let s = prepare(&[], false, &sidecar);
    assert_eq!(
        value(&s, "NODE_EXTRA_CA_CERTS").as_deref(),
        Some("/etc/openshell-tls/proxy/openshell-ca.pem")
    );
}

#[test]
fn the_host_value_wins_over_the_default_and_the_config_over_the_host() {
    let fs = tls_files()
        .with("/etc/openshell-tls/openshell-ca.pem", "")
        .with(
            "/c.json",
            r#"{"values":{"HTTP_PROXY":"http://cfg:1","X_TOKEN_URL":"u"}}"#,
        );
    let mut env = SANDBOX_HOST.to_vec();
    env.push(("MCP_ENV_SHIM_CONFIG", "/c.json"));
    let s = prepare(&env, false, &fs);
    assert_eq!(value(&s, "HTTP_PROXY").as_deref(), Some("http://cfg:1"));
    assert_eq!(
        value(&s, "HTTPS_PROXY").as_deref(),
        Some("http://127.0.0.1:3128")
    );
    assert_eq!(
        value(&s, "X_TOKEN_URL").as_deref(),
        Some("u"),
        "a config value adds its key"
    );
}

#[test]
fn extra_keys_take_the_host_value() {
    let fs = FakeFs::default().with(
        "/c.json",
        r#"{"extra_keys":["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"]}"#,
    );
    let env = [
        ("MCP_ENV_SHIM_CONFIG", "/c.json"),
        ("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "/r.pem"),
    ];
    let s = prepare(&env, false, &fs);
    assert_eq!(
        value(&s, "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH").as_deref(),
        Some("/r.pem")
    );
}

#[test]
fn the_flag_wins_over_the_config_and_off_prepares_nothing() {
    let fs = FakeFs::default().with("/c.json", r#"{"mode":"audit"}"#);
    let s = prepare(&[("MCP_ENV_SHIM_CONFIG", "/c.json")], false, &fs);
    assert_eq!(s.mode, Mode::Audit);
    let s = prepare(
        &[("MCP_ENV_SHIM_CONFIG", "/c.json"), ("MCP_ENV_SHIM", "all")],
        false,
        &fs,
    );
    assert_eq!(s.mode, Mode::All);
    let s = prepare(
        &[("MCP_ENV_SHIM", "false"), ("HTTPS_PROXY", "x")],
        false,
        &fs,
    );
    assert_eq!(s.mode, Mode::Off);
    assert!(s.entries.is_empty());
}

#[test]
fn an_unknown_flag_is_one_warning_and_mcp_mode() {
    let s = prepare(&[("MCP_ENV_SHIM", "loud")], false, &FakeFs::default());
    assert_eq!(s.mode, Mode::Mcp);
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("loud"));
}

#[test]
fn a_malformed_config_is_one_warning_naming_the_file_and_the_defaults_apply() {
    let fs = tls_files().with("/bad.json", "{\"mode\": \"all\",\n \"values\": [1]}");
    let mut env = SANDBOX_HOST.to_vec();
    env.push(("MCP_ENV_SHIM_CONFIG", "/bad.json"));
    let s = prepare(&env, false, &fs);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(
        s.warnings[0].starts_with("config /bad.json: "),
        "{}",
        s.warnings[0]
    );
    assert!(s.warnings[0].contains("line 2"), "{}", s.warnings[0]);
    assert_eq!(s.mode, Mode::Mcp);
    assert_eq!(
        value(&s, "HTTPS_PROXY").as_deref(),
        Some("http://127.0.0.1:3128")
    );
}

#[test]
fn a_missing_config_named_by_the_flag_is_a_warning_and_the_default_file_is_optional() {
    let s = prepare(
        &[("MCP_ENV_SHIM_CONFIG", "/nope.json")],
        false,
        &FakeFs::default(),
    );
    assert!(s.warnings[0].contains("/nope.json"));
    let s = prepare(&[], false, &FakeFs::default());
    assert!(s.warnings.is_empty());
    let fs = FakeFs::default().with(DEFAULT_CONFIG, r#"{"mode":"all"}"#);
    assert_eq!(prepare(&[], false, &fs).mode, Mode::All);
}

#[test]
fn log_destinations_come_from_the_flag_then_the_config() {
    let fs = FakeFs::default().with("/c.json", r#"{"log":"/var/log/shim.log"}"#);
    let s = prepare(&[("MCP_ENV_SHIM_CONFIG", "/c.json")], false, &fs);
    assert_eq!(
        s.log,
        LogTarget::File(CString::new("/var/log/shim.log").unwrap())
    );
    let s = prepare(
        &[
            ("MCP_ENV_SHIM_CONFIG", "/c.json"),
            ("MCP_ENV_SHIM_LOG", "off"),
        ],
        false,
        &fs,
    );
    assert_eq!(s.log, LogTarget::Off);
    assert_eq!(prepare(&[], false, &fs).log, LogTarget::Stderr);
    let s = prepare(&[("MCP_ENV_SHIM_LOG", "rel.log")], false, &fs);
    assert_eq!(s.log, LogTarget::Stderr);
    assert_eq!(s.warnings.len(), 1);
}

#[test]
fn secure_mode_ignores_config_and_log_paths_from_the_environment() {
    let fs = FakeFs::default()
        .with("/tmp/evil.json", r#"{"log":"/etc/passwd","mode":"all"}"#)
        .with(DEFAULT_CONFIG, r#"{"mode":"audit"}"#);
    let env = [
        ("MCP_ENV_SHIM_CONFIG", "/tmp/evil.json"),
        ("MCP_ENV_SHIM_LOG", "/tmp/x.log"),
    ];
    let s = prepare(&env, true, &fs);
    assert_eq!(
        s.mode,
        Mode::Audit,
        "the root-owned default config still applies"
    );
    assert_eq!(s.log, LogTarget::Stderr);
    let s = prepare(&[("MCP_ENV_SHIM_LOG", "off")], true, &fs);
    assert_eq!(s.log, LogTarget::Off, "turning the log off is harmless");
}

#[test]
fn a_ca_key_whose_own_file_is_gone_is_left_out_but_a_sibling_skips_to_one_that_exists() {
    let env = [
        ("SSL_CERT_FILE", "/gone.pem"),
        ("REQUESTS_CA_BUNDLE", "/tls/bundle.pem"),
    ];
    let s = prepare(&env, false, &tls_files());
    assert_eq!(value(&s, "SSL_CERT_FILE"), None);
    assert_eq!(missing(&s)["SSL_CERT_FILE"], "ca-file-not-found");
    assert_eq!(
        value(&s, "NPM_CONFIG_CAFILE").as_deref(),
        Some("/tls/bundle.pem")
    );
    assert_eq!(
        source(&s, "NPM_CONFIG_CAFILE"),
        Some(Source::Sibling("REQUESTS_CA_BUNDLE"))
    );
}

#[test]
fn secure_mode_takes_no_value_from_the_environment_of_the_user_who_started_it() {
    let fs = tls_files()
        .with("/etc/openshell-tls/openshell-ca.pem", "")
        .with(
            DEFAULT_CONFIG,
            r#"{"values":{"HTTP_PROXY":"http://root-chose:1"}}"#,
        );
    let mut env = SANDBOX_HOST.to_vec();
    env.push(("OPENSHELL_PROXY_TLS_DIR", "/tls"));
    let s = prepare(&env, true, &fs);
    assert_eq!(
        value(&s, "HTTP_PROXY").as_deref(),
        Some("http://root-chose:1")
    );
    assert_eq!(
        value(&s, "HTTPS_PROXY").as_deref(),
        Some("http://10.200.0.1:3128"),
        "the built-in default, not the user's http://127.0.0.1:3128"
    );
    assert_eq!(
        value(&s, "NODE_EXTRA_CA_CERTS").as_deref(),
        Some("/etc/openshell-tls/openshell-ca.pem"),
        "not the user's /tls/ca.pem, nor their OPENSHELL_PROXY_TLS_DIR"
    );
    assert_eq!(s.host_has, 0, "nothing counts as dropped");
}
