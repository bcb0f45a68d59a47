//! Runs the real `mcp-env-shim` binary with a controlled environment.

use std::process::Command;

fn cli(env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-env-shim"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

const HOST: &[(&str, &str)] = &[
    ("PATH", "/usr/bin"),
    ("HTTPS_PROXY", "http://127.0.0.1:3128"),
];

#[test]
fn explain_says_why_an_mcp_server_is_selected_and_what_it_gets() {
    let (ok, out) = cli(HOST, &["explain", "--", "uvx", "mcp-server-fetch"]);
    assert!(ok, "{out}");
    assert!(out.contains("selected: yes (name:package)"), "{out}");
    assert!(
        out.contains("HTTPS_PROXY          http://127.0.0.1:3128  (this environment)"),
        "{out}"
    );
    assert!(
        out.contains("https_proxy          http://127.0.0.1:3128  (from HTTPS_PROXY"),
        "{out}"
    );
    assert!(out.contains("NO_PROXY             no-value"), "{out}");
}

#[test]
fn explain_keeps_the_childs_own_keys_and_leaves_other_commands_alone() {
    let (_, out) = cli(
        HOST,
        &[
            "explain",
            "--env",
            "HTTPS_PROXY=http://own:1",
            "--",
            "npx",
            "-y",
            "mcp-remote",
        ],
    );
    assert!(out.contains("keeps the child's own: HTTPS_PROXY"), "{out}");
    assert!(
        !out.contains("http://own:1"),
        "never prints the child's values: {out}"
    );
    let (_, out) = cli(HOST, &["explain", "--inherit", "--", "git", "status"]);
    assert!(out.contains("selected: no"), "{out}");
}

#[test]
fn status_reports_a_malformed_config_and_runs_on_defaults() {
    let dir = std::env::temp_dir().join(format!("shim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"mode\": \"all\",\n \"mdoe\": 1}").unwrap();
    let env = [
        ("MCP_ENV_SHIM_CONFIG", bad.to_str().unwrap()),
        ("HTTPS_PROXY", "http://p:1"),
    ];
    let (ok, out) = cli(&env, &["status"]);
    assert!(ok, "{out}");
    assert!(out.contains("mode: mcp"), "{out}");
    assert!(out.contains("unknown field `mdoe`"), "{out}");
    assert!(
        out.contains("HTTPS_PROXY          http://p:1  (this environment)"),
        "{out}"
    );
}

#[test]
fn log_filters_by_the_childs_pid() {
    let dir = std::env::temp_dir().join(format!("shim-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("shim.log");
    std::fs::write(
        &log,
        concat!(
            r#"{"ts":"t1","event":"inject","pid":11,"via":"execve","exe":"/a","reason":"name:program","injected":["HTTPS_PROXY"],"kept":[]}"#, "\n",
            "not json from another program\n",
            r#"{"ts":"t2","event":"audit","pid":22,"via":"posix_spawn","exe":"/b","reason":"env-dropped","injected":[],"kept":["NO_PROXY"]}"#, "\n",
        ),
    )
    .unwrap();
    let (ok, out) = cli(&[], &["log", log.to_str().unwrap(), "--pid", "22"]);
    assert!(ok, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("audit") && out.contains("=NO_PROXY") && out.contains("[env-dropped]"),
        "{out}"
    );
    let (ok, out) = cli(&[], &["log"]);
    assert!(!ok && out.contains("no log file"), "{out}");
}

#[test]
fn an_unknown_command_prints_the_usage_and_fails() {
    let (ok, out) = cli(&[], &["frobnicate"]);
    assert!(!ok);
    assert!(out.contains("usage:"), "{out}");
}
