//! Unit tests of `Session::prepare` and the per-child value rules of `values`: where each
//! value comes from, what is left out and why, the flag, the config and secure mode.

use super::*;
use crate::arena::Arena;
use crate::values::Exists;
use core::mem::MaybeUninit;
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct FakeFs {
    files: HashMap<String, String>,
}

impl FakeFs {
    pub(crate) fn with(mut self, path: &str, text: &str) -> Self {
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

impl Exists for FakeFs {
    fn exists(&self, path: &[u8]) -> bool {
        let path = path.strip_suffix(&[0]).expect("a NUL-terminated path");
        self.files.contains_key(std::str::from_utf8(path).unwrap())
    }
}

/// A session and the host's values, as the library has them for a child.
pub(crate) struct Prepared {
    pub s: Session,
    pub h: HostValues,
}

impl core::ops::Deref for Prepared {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.s
    }
}

pub(crate) fn prepare(env: &[(&str, &str)], secure: bool, fs: &FakeFs) -> Prepared {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let process = Process {
        secure,
        privileged: secure,
    };
    let get = |k: &str| env.get(k).cloned();
    let s = Session::prepare(&get, process, fs);
    let h = HostValues::read(&s, &get);
    Prepared { s, h }
}

/// What key `key` gets in a child that lost the block (`lost`) or kept it, with its source.
fn resolved(s: &Prepared, key: &str, lost: bool, fs: &FakeFs) -> Result<(String, Source), Why> {
    let i = s.index(key).expect("a block key");
    let mut mem = vec![MaybeUninit::uninit(); s.max_kv(&s.h)];
    let mut out = Arena::new(&mut mem);
    let (at, source) = s.resolve(&s.h, i, lost, &mut out, fs)?;
    let kv = std::str::from_utf8(out.get(at, out.mark())).unwrap();
    let v = kv
        .strip_prefix(&format!("{key}="))
        .and_then(|v| v.strip_suffix('\0'))
        .unwrap_or_else(|| panic!("{kv:?} is not {key}=VALUE\\0"));
    Ok((v.to_string(), source))
}

fn value(s: &Prepared, key: &str, fs: &FakeFs) -> Option<String> {
    resolved(s, key, true, fs).ok().map(|(v, _)| v)
}

fn source(s: &Prepared, key: &str, fs: &FakeFs) -> Option<Source> {
    resolved(s, key, true, fs).ok().map(|(_, src)| src)
}

fn why(s: &Prepared, key: &str, fs: &FakeFs) -> Option<Why> {
    resolved(s, key, true, fs).err()
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
    let fs = tls_files();
    let s = prepare(SANDBOX_HOST, false, &fs);
    assert_eq!(s.mode, Mode::Mcp);
    let v = |k| value(&s, k, &fs);
    assert_eq!(v("HTTPS_PROXY").as_deref(), Some("http://127.0.0.1:3128"));
    assert_eq!(source(&s, "HTTPS_PROXY", &fs), Some(Source::Host));
    assert_eq!(v("https_proxy").as_deref(), Some("http://127.0.0.1:3128"));
    assert_eq!(
        source(&s, "https_proxy", &fs),
        Some(Source::Sibling("HTTPS_PROXY"))
    );
    assert_eq!(v("no_proxy").as_deref(), Some("localhost,127.0.0.1"));
    assert_eq!(v("grpc_proxy").as_deref(), Some("http://127.0.0.1:3128"));
    assert_eq!(v("REQUESTS_CA_BUNDLE").as_deref(), Some("/tls/bundle.pem"));
    assert_eq!(v("DENO_CERT").as_deref(), Some("/tls/ca.pem"));
}

#[test]
fn a_child_that_kept_the_block_gets_only_what_the_host_itself_has() {
    let fs = tls_files();
    let s = prepare(SANDBOX_HOST, false, &fs);
    assert_eq!(
        resolved(&s, "HTTPS_PROXY", false, &fs).map(|(v, _)| v),
        Ok("http://127.0.0.1:3128".to_string())
    );
    for derived in [
        "https_proxy",
        "ALL_PROXY",
        "DENO_CERT",
        "PIP_CERT",
        "NPM_CONFIG_CAFILE",
    ] {
        assert_eq!(
            resolved(&s, derived, false, &fs),
            Err(Why::NoValue),
            "{derived} is derived from a sibling: only for a child that lost the block"
        );
    }
}

#[test]
fn plan_offers_every_key_to_a_child_that_lost_the_block_and_only_own_keys_otherwise() {
    let fs = tls_files();
    let s = prepare(SANDBOX_HOST, false, &fs);
    let argv: [&[u8]; 1] = [b"mcp-server-x"];
    let fresh: [&[u8]; 2] = [b"PATH", b"HOME"];
    let p = s
        .plan(
            &s.h,
            b"mcp-server-x",
            &argv,
            fresh.iter().copied(),
            crate::stdio::Stdio::PIPES,
        )
        .unwrap();
    assert!(p.lost);
    assert_eq!(p.candidates, s.all());
    let kept: [&[u8]; 4] = [
        b"PATH",
        b"HTTPS_PROXY",
        b"HTTP_PROXY",
        b"NODE_EXTRA_CA_CERTS",
    ];
    let p = s
        .plan(
            &s.h,
            b"mcp-server-x",
            &argv,
            kept.iter().copied(),
            crate::stdio::Stdio::PIPES,
        )
        .unwrap();
    assert!(!p.lost, "3 of the host's 5 keys kept");
    let names = |m: u64| -> Vec<&str> { crate::envp::bits(m).map(|i| s.keys[i].name).collect() };
    assert_eq!(names(p.candidates), ["NO_PROXY", "SSL_CERT_FILE"]);
    assert_eq!(
        names(p.present),
        ["HTTP_PROXY", "HTTPS_PROXY", "NODE_EXTRA_CA_CERTS"]
    );
}

#[test]
fn a_child_with_its_own_spelling_of_a_proxy_is_not_given_its_twins() {
    let fs = tls_files();
    let s = prepare(SANDBOX_HOST, false, &fs);
    let argv: [&[u8]; 1] = [b"mcp-server-x"];
    let plan = |env: &[&'static [u8]]| {
        s.plan(
            &s.h,
            b"mcp-server-x",
            &argv,
            env.iter().copied(),
            crate::stdio::Stdio::PIPES,
        )
        .unwrap()
    };
    let given = |m: u64| -> Vec<&str> { crate::envp::bits(m).map(|i| s.keys[i].name).collect() };
    let p = plan(&[b"PATH", b"HTTPS_PROXY", b"NO_PROXY"]);
    let c = given(p.candidates);
    for twin in ["https_proxy", "no_proxy", "grpc_proxy"] {
        assert!(!c.contains(&twin), "{twin} given: {c:?}");
    }
    for other in [
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "SSL_CERT_FILE",
    ] {
        assert!(c.contains(&other), "{other} not given: {c:?}");
    }
    // Its own ALL_PROXY is its choice for every scheme: no scheme-specific proxy over it.
    // gRPC reads neither ALL_PROXY nor all_proxy: a child with them still gets grpc_proxy.
    let p = plan(&[b"PATH", b"all_proxy"]);
    let c = given(p.candidates);
    assert!(
        c.contains(&"grpc_proxy") && !c.contains(&"ALL_PROXY"),
        "{c:?}"
    );
    for web in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        assert!(
            !c.contains(&web),
            "{web} given over its own all_proxy: {c:?}"
        );
    }
    assert!(c.contains(&"NO_PROXY"), "{c:?}");
    // Its own grpc_proxy shadows no other spelling.
    let p = plan(&[b"PATH", b"grpc_proxy"]);
    let c = given(p.candidates);
    assert!(
        c.contains(&"ALL_PROXY") && c.contains(&"https_proxy"),
        "{c:?}"
    );
}

#[test]
fn a_host_without_any_block_key_has_nothing_to_restore_so_a_child_may_get_defaults() {
    let fs = FakeFs::default().with("/etc/openshell-tls/openshell-ca.pem", "");
    let s = prepare(&[], false, &fs);
    let argv: [&[u8]; 1] = [b"mcp-server-x"];
    let env: [&[u8]; 1] = [b"PATH"];
    let p = s
        .plan(
            &s.h,
            b"mcp-server-x",
            &argv,
            env.iter().copied(),
            crate::stdio::Stdio::PIPES,
        )
        .unwrap();
    assert!(p.lost);
    assert_eq!(p.candidates, s.all());
}

#[test]
fn outside_a_sandbox_a_key_without_any_value_is_left_out_and_said_so() {
    let fs = tls_files();
    let s = prepare(SANDBOX_HOST, false, &fs);
    assert_eq!(why(&s, "NODE_USE_ENV_PROXY", &fs), Some(Why::NoValue));
    assert_eq!(why(&s, "SSL_CERT_DIR", &fs), Some(Why::NoValue));
}

#[test]
fn the_host_mask_records_only_what_the_host_itself_had() {
    let s = prepare(SANDBOX_HOST, false, &tls_files());
    assert_eq!(s.h.has().count_ones(), 5);
    assert_eq!(s.config_has, 0);
}

#[test]
fn a_ca_file_that_does_not_exist_is_not_injected() {
    let fs = FakeFs::default().with("/tls/ca.pem", "");
    let s = prepare(SANDBOX_HOST, false, &fs);
    assert_eq!(why(&s, "SSL_CERT_FILE", &fs), Some(Why::CaFileNotFound));
    assert_eq!(
        value(&s, "NODE_EXTRA_CA_CERTS", &fs).as_deref(),
        Some("/tls/ca.pem")
    );
}

#[test]
fn a_ca_file_is_judged_when_the_child_starts_not_when_the_host_did() {
    let s = prepare(SANDBOX_HOST, false, &FakeFs::default());
    let later = tls_files();
    assert_eq!(
        value(&s, "SSL_CERT_FILE", &later).as_deref(),
        Some("/tls/bundle.pem"),
        "the sandbox CA may be written after the gateway started"
    );
}

#[test]
fn a_bundle_is_never_filled_from_the_ca_alone() {
    let fs = tls_files();
    let s = prepare(&[("NODE_EXTRA_CA_CERTS", "/tls/ca.pem")], false, &fs);
    assert_eq!(value(&s, "SSL_CERT_FILE", &fs), None);
    assert_eq!(value(&s, "DENO_CERT", &fs).as_deref(), Some("/tls/ca.pem"));
}

#[test]
fn in_an_openshell_sandbox_the_built_in_defaults_fill_the_gaps() {
    let fs = FakeFs::default()
        .with("/etc/openshell-tls/openshell-ca.pem", "")
        .with("/etc/openshell-tls/ca-bundle.pem", "");
    let s = prepare(&[], false, &fs);
    let v = |k| value(&s, k, &fs);
    assert_eq!(v("HTTPS_PROXY").as_deref(), Some("http://10.200.0.1:3128"));
    assert_eq!(v("NO_PROXY").as_deref(), Some("127.0.0.1,localhost,::1"));
    assert_eq!(
        v("NODE_EXTRA_CA_CERTS").as_deref(),
        Some("/etc/openshell-tls/openshell-ca.pem")
    );
    assert_eq!(
        v("SSL_CERT_FILE").as_deref(),
        Some("/etc/openshell-tls/ca-bundle.pem")
    );
    assert_eq!(source(&s, "SSL_CERT_FILE", &fs), Some(Source::OpenShell));
    assert_eq!(s.h.has(), 0);
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
        value(&s, "DENO_CERT", &fs).as_deref(),
        Some("/run/tls/openshell-ca.pem")
    );
    assert_eq!(why(&s, "SSL_CERT_FILE", &fs), Some(Why::CaFileNotFound));
    let sidecar = FakeFs::default().with("/etc/openshell-tls/proxy/openshell-ca.pem", "");
    let s = prepare(&[], false, &sidecar);
    assert_eq!(
        value(&s, "NODE_EXTRA_CA_CERTS", &sidecar).as_deref(),
        Some("/etc/openshell-tls/proxy/openshell-ca.pem")
    );
    let s = prepare(&[], false, &FakeFs::default());
    assert_eq!(
        s.sandbox.tls_dir(&FakeFs::default()),
        None,
        "no flag, no CA: not a sandbox"
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
    assert_eq!(
        value(&s, "HTTP_PROXY", &fs).as_deref(),
        Some("http://cfg:1")
    );
    assert_eq!(
        value(&s, "HTTPS_PROXY", &fs).as_deref(),
        Some("http://127.0.0.1:3128")
    );
    assert_eq!(
        value(&s, "X_TOKEN_URL", &fs).as_deref(),
        Some("u"),
        "a config value adds its key"
    );
    let x = s.index("X_TOKEN_URL").unwrap();
    assert_ne!(
        s.config_has & (1 << x),
        0,
        "a config value counts as the host's own"
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
        value(&s, "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", &fs).as_deref(),
        Some("/r.pem")
    );
    assert_eq!(
        s.table.find(&s.keys, b"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"),
        s.index("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH")
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
    assert!(s.keys.is_empty());
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
        value(&s, "HTTPS_PROXY", &fs).as_deref(),
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
fn secure_mode_reads_nothing_from_the_environment_only_the_root_owned_default_config() {
    let fs = FakeFs::default()
        .with("/tmp/evil.json", r#"{"log":"/etc/passwd","mode":"all"}"#)
        .with(
            DEFAULT_CONFIG,
            r#"{"mode":"audit","log":"/var/log/root.log"}"#,
        );
    let env = [
        ("MCP_ENV_SHIM_CONFIG", "/tmp/evil.json"),
        ("MCP_ENV_SHIM_LOG", "/tmp/x.log"),
        ("MCP_ENV_SHIM", "all"),
    ];
    let s = prepare(&env, true, &fs);
    assert_eq!(
        s.mode,
        Mode::Audit,
        "the mode is root's, not the user's `all`"
    );
    assert_eq!(
        s.log,
        LogTarget::File(CString::new("/var/log/root.log").unwrap())
    );
    let s = prepare(&[("MCP_ENV_SHIM", "off")], true, &FakeFs::default());
    assert_eq!(s.mode, Mode::Mcp, "not even `off` from the user");
    let s = prepare(&[("MCP_ENV_SHIM", "x\ninjected")], true, &FakeFs::default());
    assert!(
        s.warnings.is_empty(),
        "no byte of the user's environment reaches a warning: {:?}",
        s.warnings
    );
}

#[test]
fn a_ca_key_whose_own_file_is_gone_is_left_out_but_a_sibling_skips_to_one_that_exists() {
    let fs = tls_files();
    let env = [
        ("SSL_CERT_FILE", "/gone.pem"),
        ("REQUESTS_CA_BUNDLE", "/tls/bundle.pem"),
    ];
    let s = prepare(&env, false, &fs);
    assert_eq!(why(&s, "SSL_CERT_FILE", &fs), Some(Why::CaFileNotFound));
    assert_eq!(
        value(&s, "NPM_CONFIG_CAFILE", &fs).as_deref(),
        Some("/tls/bundle.pem")
    );
    assert_eq!(
        source(&s, "NPM_CONFIG_CAFILE", &fs),
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
        value(&s, "HTTP_PROXY", &fs).as_deref(),
        Some("http://root-chose:1")
    );
    assert_eq!(
        value(&s, "HTTPS_PROXY", &fs).as_deref(),
        Some("http://10.200.0.1:3128"),
        "the built-in default, not the user's http://127.0.0.1:3128"
    );
    assert_eq!(
        value(&s, "NODE_EXTRA_CA_CERTS", &fs).as_deref(),
        Some("/etc/openshell-tls/openshell-ca.pem"),
        "not the user's /tls/ca.pem, nor their OPENSHELL_PROXY_TLS_DIR"
    );
    assert_eq!(s.h.has(), 0, "nothing counts as dropped");
}

#[test]
fn a_value_that_is_not_utf8_reaches_the_child_byte_for_byte() {
    struct Raw;
    impl Env for Raw {
        fn var(&self, _: &str) -> Option<String> {
            None
        }
        fn vars(&self, names: &[&str]) -> Vec<Option<Cow<'_, [u8]>>> {
            names
                .iter()
                .map(|n| (*n == "NO_PROXY").then_some(Cow::Borrowed(&b"a\xffb"[..])))
                .collect()
        }
    }
    let fs = FakeFs::default();
    let s = Session::prepare(&Raw, Process::default(), &fs);
    let h = HostValues::read(&s, &Raw);
    let i = s.index("NO_PROXY").unwrap();
    let mut mem = vec![MaybeUninit::uninit(); s.max_kv(&h)];
    let mut out = Arena::new(&mut mem);
    let (at, _) = s.resolve(&h, i, true, &mut out, &fs).unwrap();
    assert_eq!(out.get(at, out.mark()), b"NO_PROXY=a\xffb\0");
}

#[test]
fn max_kv_bounds_every_child_of_every_kind() {
    let fs = tls_files()
        .with("/etc/openshell-tls/openshell-ca.pem", "")
        .with("/etc/openshell-tls/ca-bundle.pem", "")
        .with(
            "/c.json",
            r#"{"values":{"X_LONG":"0123456789012345678901234567890123456789"}}"#,
        );
    let mut env = SANDBOX_HOST.to_vec();
    env.push(("MCP_ENV_SHIM_CONFIG", "/c.json"));
    for s in [prepare(&env, false, &fs), prepare(&[], false, &fs)] {
        let mut mem = vec![MaybeUninit::uninit(); s.max_kv(&s.h)];
        let mut out = Arena::new(&mut mem);
        let plan = Plan {
            reason: Reason::All,
            server: &[],
            present: 0,
            lost: true,
            candidates: s.all(),
        };
        let o = s.fill(&s.h, &plan, &mut out, &fs, |_, _, _| {});
        assert_eq!(
            o.no_value & !(1 << s.index("SSL_CERT_DIR").unwrap()),
            0,
            "every key with a value fits: {:?}",
            o.missing().map(|(i, _)| s.keys[i].name).collect::<Vec<_>>()
        );
    }
}

/// An environment whose values are bytes, as a process's are.
struct ByteEnv(Vec<(&'static str, Vec<u8>)>);

impl Env for ByteEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.var_bytes(name)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }
    fn var_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

#[test]
fn a_log_path_that_is_not_utf8_names_that_file_and_such_a_config_path_is_one_warning() {
    let process = Process {
        secure: false,
        privileged: false,
    };
    let fs = FakeFs::default().with("/c\u{fffd}.json", r#"{"mode":"audit"}"#);
    let env = ByteEnv(vec![
        ("MCP_ENV_SHIM_LOG", b"/tmp/log-\xff.log".to_vec()),
        ("MCP_ENV_SHIM_CONFIG", b"/c\xff.json".to_vec()),
    ]);
    let s = Session::prepare(&env, process, &fs);
    assert_eq!(
        s.log,
        LogTarget::File(CString::new(b"/tmp/log-\xff.log".to_vec()).unwrap())
    );
    // Not the file whose name has U+FFFD where the byte was.
    assert_eq!(s.mode, Mode::Mcp);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.warnings[0].contains("not UTF-8"), "{}", s.warnings[0]);
    let env = ByteEnv(vec![("MCP_ENV_SHIM_LOG", b"rel-\xff.log".to_vec())]);
    let s = Session::prepare(&env, process, &fs);
    assert_eq!(s.log, LogTarget::Stderr);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
}
