//! The whole diagnosis on fixtures in OpenShell's exact formats (testdata/: the example lines of
//! shared/OPENSHELL.md, and the same events as OCSF JSON built from its field list) and shim log
//! lines as the library writes them, with and without the newer fields.

use crate::join::{Binary, Host, Join, NoHost, Proc};
use crate::sandbox::{parse_ocsf, parse_shorthand, Event};
use crate::{Context, Diagnoser, Finding, ShimLog, Verdict};
use mcp_env_shim_core::config::Mode;
use mcp_env_shim_core::select::Selector;
use std::collections::BTreeMap;

const SHORTHAND: &str = include_str!("../testdata/openshell.2026-05-06.log");
const OCSF: &str = include_str!("../testdata/openshell-ocsf.2026-05-06.log");

/// 4242: a GitHub server that declared its own NODE_EXTRA_CA_CERTS (kept); 4251: a server whose
/// proxy keys were injected. Written a few seconds before the proxy's events.
const SHIM: &str = concat!(
    r#"{"ts":"2026-05-06T17:01:58.000Z","event":"inject","pid":4242,"ppid":4200,"via":"execvp","exe":"/usr/bin/npx","reason":"name:package","injected":["HTTPS_PROXY","https_proxy","SSL_CERT_FILE"],"kept":["NODE_EXTRA_CA_CERTS"],"missing":{}}"#,
    "\n",
    "npm warn exec The following package was not found and will be installed\n",
    r#"{"ts":"2026-05-06T17:01:59.000Z","event":"inject","pid":4251,"ppid":4200,"via":"posix_spawnp","exe":"/srv/mcp/weather/mcp-weather","reason":"name:program","server":"mcp-weather","injected":["HTTPS_PROXY","https_proxy","NODE_USE_ENV_PROXY","NODE_EXTRA_CA_CERTS"],"kept":[],"missing":{},"dropped":2}"#,
    "\n",
);

fn ctx(selector: &Selector) -> Context<'_> {
    let mut values = BTreeMap::new();
    values.insert(
        "NODE_EXTRA_CA_CERTS".into(),
        "/etc/openshell-tls/openshell-ca.pem".into(),
    );
    values.insert(
        "SSL_CERT_FILE".into(),
        "/etc/openshell-tls/ca-bundle.pem".into(),
    );
    Context {
        selector,
        mode: Mode::Mcp,
        values,
        shim_log: ShimLog::Read("/tmp/shim.log".into()),
    }
}

fn run_with(shim: &str, events: Vec<Event>, host: &dyn Host) -> Vec<Finding> {
    let sel = Selector::default();
    let mut d = Diagnoser::default();
    for l in shim.lines() {
        d.add_shim_line(l.as_bytes());
    }
    d.add_events(events, &ctx(&sel), host)
}

fn shorthand(text: &str) -> Vec<Event> {
    text.lines().filter_map(parse_shorthand).collect()
}

fn ocsf(text: &str) -> Vec<Event> {
    text.lines().filter_map(parse_ocsf).collect()
}

fn verdicts(f: &[Finding]) -> Vec<(&str, Option<u32>)> {
    f.iter().map(|f| (f.verdict.as_str(), f.pid)).collect()
}

#[test]
fn openshells_example_lines_give_one_finding_per_failure() {
    let f = run_with(SHIM, shorthand(SHORTHAND), &NoHost);
    assert_eq!(
        verdicts(&f),
        [
            ("ca-own-kept", Some(4242)),
            ("proxy-ignored", Some(4251)),
            ("policy-denied", Some(77)),
            ("policy-denied", None),
        ],
        "{f:#?}"
    );
    // The FAIL has no process: it is the OPEN's, 200 ms before.
    assert!(
        f[0].detail
            .contains("paired with the OPEN for api.example.com:443 200 ms before"),
        "{}",
        f[0].detail
    );
    assert_eq!(
        (f[0].server_pid, f[0].started_by, f[0].join),
        (Some(4242), Some(4200), Join::Pid)
    );
    assert!(
        f[0].fix.contains("remove NODE_EXTRA_CA_CERTS")
            && f[0].fix.contains("/etc/openshell-tls/openshell-ca.pem"),
        "{}",
        f[0].fix
    );
    assert!(
        f[1].detail
            .contains("NODE_USE_ENV_PROXY=1, which it was given"),
        "{}",
        f[1].detail
    );
    assert_eq!(f[1].server.as_deref(), Some("mcp-weather"));
    assert!(
        f[2].detail.contains("not a CA or proxy problem"),
        "{}",
        f[2].detail
    );
    assert!(
        f[3].detail.contains("policy gh_readonly, engine l7"),
        "{}",
        f[3].detail
    );
}

#[test]
fn the_human_line_is_the_requests_own_words() {
    let f = run_with(SHIM, shorthand(SHORTHAND), &NoHost);
    assert_eq!(
        f[0].human(),
        "2026-05-06T17:02:00.200Z ca-own-kept: TLS handshake from PID 4242 (node, MCP server npx started by 4200) \
         to api.example.com:443 failed: the server declares its own NODE_EXTRA_CA_CERTS, which the shim kept (it never \
         overrides a key the server has): that is not the sandbox CA, so Node rejects the proxy's certificate \
         [the proxy logged this failure without a process; it is paired with the OPEN for api.example.com:443 200 ms \
         before it]; fix: remove NODE_EXTRA_CA_CERTS from this server's env in the client's config, or set it to \
         /etc/openshell-tls/openshell-ca.pem"
    );
    let j = f[1].to_json();
    for k in [
        "ts",
        "pid",
        "exe",
        "server_pid",
        "verdict",
        "detail",
        "fix",
        "dest",
        "join",
    ] {
        assert!(!j[k].is_null(), "{k} in {j}");
    }
    assert_eq!(j["verdict"], "proxy-ignored");
    assert_eq!(j["failed"], "direct-connection");
}

#[test]
fn both_files_together_report_each_event_once_with_the_ocsf_details() {
    let mut all = shorthand(SHORTHAND);
    all.extend(ocsf(OCSF));
    let f = run_with(SHIM, all, &NoHost);
    assert_eq!(f.len(), 4, "{f:#?}");
    let only_ocsf = run_with(SHIM, ocsf(OCSF), &NoHost);
    assert_eq!(verdicts(&f), verdicts(&only_ocsf));
    assert!(
        f[0].detail
            .contains("TLS relay error: received fatal alert: UnknownCA"),
        "{}",
        f[0].detail
    );
}

#[test]
fn no_shim_line_is_not_injected_and_the_command_line_says_why() {
    let f = run_with("", ocsf(OCSF), &NoHost);
    assert_eq!(f[0].verdict, Verdict::NotInjected);
    // node .../server-github/dist/index.js: a runtime the shim selects only when the client
    // drops the environment.
    assert!(
        f[0].detail.contains("no inject line for PID 4242"),
        "{}",
        f[0].detail
    );
    assert!(f[0].detail.contains("env-dropped"), "{}", f[0].detail);
    assert!(
        f[0].detail.contains("(sh)"),
        "the parent OCSF names: {}",
        f[0].detail
    );
    assert!(
        f[0].fix.contains("preload the shim") && f[0].fix.contains("NODE_EXTRA_CA_CERTS"),
        "{}",
        f[0].fix
    );
    // curl: the rules do not select it.
    let curl = &f[2];
    assert_eq!(
        curl.verdict,
        Verdict::PolicyDenied,
        "policy wins over everything: {curl:#?}"
    );
}

fn refuse(pid: u32, name: &str, cmd: Option<&str>, parents: &[&str]) -> Event {
    let mut e = parse_shorthand(&format!(
        "2026-05-06T17:02:05.000Z OCSF NET:REFUSE [MED] DENIED {name}({pid}) -> 93.184.216.34:443/tcp [policy:bypass-detect engine:nftables] [reason:BYPASS_DETECT]"
    ))
    .unwrap();
    if let Some(p) = e.process.as_mut() {
        p.cmd_line = cmd.map(String::from);
        p.parents = parents.iter().map(|s| s.to_string()).collect();
    }
    e
}

#[test]
fn not_injected_tells_an_mcp_looking_command_from_one_the_rules_skip() {
    let looks = refuse(
        10,
        "/usr/bin/node",
        Some("npx -y @modelcontextprotocol/server-github"),
        &["/usr/local/bin/codex"],
    );
    let skipped = refuse(
        11,
        "/usr/bin/curl",
        Some("curl -s https://example.com/feed"),
        &["/bin/bash"],
    );
    let unknown = refuse(12, "/usr/bin/node", None, &[]);
    let f = run_with("", vec![looks, skipped, unknown], &NoHost);
    assert!(
        f[0].detail
            .contains("looks like an MCP server (name:package)"),
        "{}",
        f[0].detail
    );
    assert!(
        f[0].detail.contains("(codex)") && f[0].detail.contains("static or Go binary"),
        "{}",
        f[0].detail
    );
    assert!(
        f[1].detail.contains("the rules did not select it"),
        "{}",
        f[1].detail
    );
    assert!(
        f[1].fix
            .contains("add \"curl\" to the config's \"include\""),
        "{}",
        f[1].fix
    );
    assert!(
        f[2].detail.contains("command line is unknown"),
        "{}",
        f[2].detail
    );
}

struct Live(Vec<Proc>);

impl Host for Live {
    fn process(&self, pid: u32) -> Option<Proc> {
        self.0.iter().find(|p| p.pid == pid).cloned()
    }
}

#[test]
fn a_live_parent_says_whether_the_hooks_could_see_it() {
    let server = |ppid| Proc {
        pid: 10,
        ppid,
        exe: "/usr/bin/node".into(),
        argv: vec![b"node".to_vec(), b"/srv/mcp-server-x/index.js".to_vec()],
        start_ms: Some(0),
        ..Proc::default()
    };
    let parent = |binary, loaded: Option<bool>, mode: Option<&str>| Proc {
        pid: 9,
        ppid: 1,
        exe: "/opt/gw".into(),
        start_ms: Some(0),
        binary,
        shim_loaded: loaded,
        shim_mode: mode.map(String::from),
        ..Proc::default()
    };
    let ev = || vec![refuse(10, "/usr/bin/node", None, &[])];
    for (p, want) in [
        (parent(Binary::Static, None, None), "is a static binary"),
        (parent(Binary::Go, None, None), "is a Go program"),
        (
            parent(Binary::Dynamic, Some(false), None),
            "the shim is not loaded in its parent PID 9 (gw)",
        ),
        (
            parent(Binary::Dynamic, Some(true), Some("off")),
            "with MCP_ENV_SHIM=off",
        ),
    ] {
        let f = run_with("", ev(), &Live(vec![server(9), p]));
        assert!(
            f[0].detail
                .contains("looks like an MCP server (name:script)"),
            "{}",
            f[0].detail
        );
        assert!(f[0].detail.contains(want), "{want}: {}", f[0].detail);
    }
}

#[test]
fn the_ca_verdicts_follow_what_the_runtime_reads() {
    let open_fail = |pid: u32, name: &str| {
        shorthand(&format!(
            "2026-05-06T17:02:00.000Z OCSF NET:OPEN [INFO] ALLOWED {name}({pid}) -> api.example.com:443 [policy:default engine:opa]\n\
             2026-05-06T17:02:00.050Z OCSF NET:FAIL [LOW] api.example.com:443\n"
        ))
    };
    let line = |pid: u32, injected: &str, kept: &str, missing: &str| {
        format!(
            r#"{{"ts":"2026-05-06T17:01:00.000Z","event":"inject","pid":{pid},"ppid":1,"via":"execve","exe":"/x/mcp-srv","reason":"name:program","injected":[{injected}],"kept":[{kept}],"missing":{{{missing}}}}}"#
        )
    };
    // Python given SSL_CERT_FILE that fails anyway: it reads another store.
    let f = run_with(
        &line(20, r#""HTTPS_PROXY","SSL_CERT_FILE""#, "", ""),
        open_fail(20, "/usr/bin/python3.11"),
        &NoHost,
    );
    assert_eq!(f[0].verdict, Verdict::CaIgnored, "{f:#?}");
    assert!(
        f[0].detail.contains("requests reads REQUESTS_CA_BUNDLE"),
        "{}",
        f[0].detail
    );
    // Java: a trust store.
    let f = run_with(
        &line(21, r#""HTTPS_PROXY","SSL_CERT_FILE""#, "", ""),
        open_fail(21, "/usr/lib/jvm/bin/java"),
        &NoHost,
    );
    assert_eq!(f[0].verdict, Verdict::CaIgnored);
    assert!(
        f[0].detail.contains("Java reads no CA variable") && f[0].fix.contains("trustStore"),
        "{f:#?}"
    );
    // No CA value at all: the shim had none to give.
    let f = run_with(
        &line(
            22,
            r#""HTTPS_PROXY""#,
            "",
            r#""NODE_EXTRA_CA_CERTS":"ca-file-not-found","SSL_CERT_FILE":"no-value""#,
        ),
        open_fail(22, "/usr/bin/node"),
        &NoHost,
    );
    assert_eq!(f[0].verdict, Verdict::CaNotGiven, "{f:#?}");
    assert!(
        f[0].detail
            .contains("NODE_EXTRA_CA_CERTS ca-file-not-found"),
        "{}",
        f[0].detail
    );
    // A Python server's own SSL_CERT_FILE, kept.
    let f = run_with(
        &line(23, r#""HTTPS_PROXY""#, r#""SSL_CERT_FILE""#, ""),
        open_fail(23, "/usr/bin/python3"),
        &NoHost,
    );
    assert_eq!(f[0].verdict, Verdict::CaOwnKept);
    assert!(
        f[0].fix.contains("/etc/openshell-tls/ca-bundle.pem"),
        "{}",
        f[0].fix
    );
}

#[test]
fn audit_mode_is_not_injected() {
    let audit = r#"{"ts":"2026-05-06T17:01:58.000Z","event":"audit","pid":4242,"ppid":4200,"via":"execvp","exe":"/usr/bin/npx","reason":"name:package","injected":["HTTPS_PROXY"],"kept":[],"missing":{}}"#;
    let f = run_with(audit, shorthand(SHORTHAND), &NoHost);
    assert_eq!(f[0].verdict, Verdict::NotInjected);
    assert!(f[0].detail.contains("mode audit"), "{}", f[0].detail);
}

#[test]
fn a_fail_without_an_open_cannot_be_attributed_and_says_so() {
    let f = run_with(
        SHIM,
        shorthand("2026-05-06T17:02:00.200Z OCSF NET:FAIL [LOW] api.example.com:443"),
        &NoHost,
    );
    assert_eq!(f[0].verdict, Verdict::Unattributed);
    assert_eq!(f[0].pid, None);
    assert!(
        f[0].human().contains("from an unknown process"),
        "{}",
        f[0].human()
    );
    assert!(f[0].detail.contains("cannot be attributed"));
}

#[test]
fn a_fail_pairs_with_the_open_just_before_it() {
    let ev = shorthand(concat!(
        "2026-05-06T17:02:00.000Z OCSF NET:OPEN [INFO] ALLOWED /usr/bin/node(1) -> h:443 [policy:default engine:opa]\n",
        "2026-05-06T17:02:00.010Z OCSF NET:OPEN [INFO] ALLOWED /usr/bin/node(2) -> other:443 [policy:default engine:opa]\n",
        "2026-05-06T17:02:00.020Z OCSF NET:OPEN [INFO] ALLOWED /usr/bin/node(3) -> h:443 [policy:default engine:opa]\n",
        "2026-05-06T17:02:00.030Z OCSF NET:FAIL [LOW] h:443\n",
        "2026-05-06T17:02:00.040Z OCSF NET:FAIL [LOW] h:443\n",
        "2026-05-06T17:02:00.050Z OCSF NET:FAIL [LOW] h:443\n",
    ));
    let f = run_with("", ev, &NoHost);
    assert_eq!(
        verdicts(&f),
        [
            ("not-injected", Some(3)),
            ("not-injected", Some(1)),
            ("unattributed", None)
        ]
    );
}

#[test]
fn since_hides_older_findings_but_their_opens_still_pair() {
    let sel = Selector::default();
    let mut d = Diagnoser::default();
    d.since_ms = crate::time::parse_iso("2026-05-06T17:02:00.100Z");
    let f = d.add_events(shorthand(SHORTHAND), &ctx(&sel), &NoHost);
    assert_eq!(
        f.first().map(|f| f.pid),
        Some(Some(4242)),
        "the FAIL at .200 pairs with the OPEN at .000"
    );
    let mut d2 = Diagnoser::default();
    d2.since_ms = crate::time::parse_iso("2026-05-06T17:03:00Z");
    assert!(d2
        .add_events(shorthand(SHORTHAND), &ctx(&sel), &NoHost)
        .is_empty());
}

#[test]
fn a_launchers_child_is_joined_by_name_once_both_are_gone() {
    // uvx (the shim's line) spawned python, which owns the socket; the OCSF chain names uvx.
    let shim = r#"{"ts":"2026-05-06T17:01:00.000Z","event":"inject","pid":600,"ppid":4200,"via":"posix_spawnp","exe":"uvx","reason":"name:package","injected":["HTTPS_PROXY"],"kept":["SSL_CERT_FILE"],"missing":{}}"#;
    let mut ev = shorthand(concat!(
        "2026-05-06T17:02:00.000Z OCSF NET:OPEN [INFO] ALLOWED /usr/bin/python3.11(603) -> pypi.example:443 [policy:default engine:opa]\n",
        "2026-05-06T17:02:00.050Z OCSF NET:FAIL [LOW] pypi.example:443\n",
    ));
    if let Some(p) = ev[0].process.as_mut() {
        p.cmd_line =
            Some("/root/.cache/uv/x/bin/python /root/.cache/uv/x/bin/mcp-server-fetch".into());
        p.parents = vec!["/usr/local/bin/uvx".into(), "/usr/bin/node".into()];
    }
    let f = run_with(shim, ev, &NoHost);
    assert_eq!(f[0].verdict, Verdict::CaOwnKept, "{f:#?}");
    assert_eq!(
        (f[0].pid, f[0].server_pid, f[0].join),
        (Some(603), Some(600), Join::Name)
    );
    assert!(
        f[0].detail
            .contains("the shim's line is for uvx (PID 600): the processes are gone"),
        "{}",
        f[0].detail
    );
}
