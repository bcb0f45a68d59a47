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
    assert!(out.to_lowercase().contains("usage:"), "{out}");
}

// --- the CLI's own defects (issue 7 item 10, issue 10 "The CLI") ---------------------------

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Runs the CLI with raw (possibly non-UTF-8) arguments and environment, and kills it if it has
/// not finished within `limit`: a hang is a failure, not a stuck test run.
fn cli_raw(env: &[(&OsStr, &OsStr)], args: &[&OsStr], limit: Duration) -> (Option<i32>, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_mcp-env-shim"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => {
            let out = out.unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            (out.status.code(), text)
        }
        Err(_) => {
            // SAFETY: `pid` is the child this test started and has not reaped.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            (None, format!("timed out after {limit:?}"))
        }
    }
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shim-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_subcommand_answers_help() {
    for sub in ["status", "explain", "log", "diagnose"] {
        let (ok, out) = cli(&[], &[sub, "--help"]);
        assert!(ok, "{sub} --help failed: {out}");
        assert!(out.contains("Usage: mcp-env-shim"), "{sub}: {out}");
    }
    let (ok, out) = cli(&[], &["--help"]);
    assert!(ok && out.contains("explain"), "{out}");
}

#[test]
fn explain_takes_arguments_and_an_environment_that_are_not_utf8() {
    let arg = OsStr::from_bytes(b"mcp-server-\xff");
    let env = [
        (os("PATH"), os("/usr/bin")),
        (os("HTTPS_PROXY"), os("http://127.0.0.1:3128")),
        (os("ODD"), OsStr::from_bytes(b"value-\xfe")),
    ];
    let (code, out) = cli_raw(
        &env,
        &[os("explain"), os("--inherit"), os("--"), arg],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    assert!(out.contains("selected: yes (name:program)"), "{out}");
    assert!(out.contains("mcp-server-\u{fffd}"), "{out}");
}

#[test]
fn log_reads_lines_as_bytes_and_skips_what_is_not_a_json_object() {
    let dir = scratch("bytes");
    let log = dir.join("shim.log");
    let mut text = Vec::new();
    text.extend_from_slice(br#"{"ts":"t1","event":"inject","pid":11,"via":"execve","exe":"/a","reason":"name:program","injected":["HTTPS_PROXY"],"kept":[]}"#);
    text.extend_from_slice(b"\nbinary from another program: \xff\xfe\n42\n[1,2]\n");
    text.extend_from_slice(br#"{"ts":"t2","event":"inject","pid":12,"via":"execve","exe":"/b\u00ff","reason":"name:program","injected":[],"kept":[]}"#);
    std::fs::write(&log, text).unwrap();
    let (ok, out) = cli(&[], &["log", log.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("pid=11") && out.contains("pid=12"), "{out}");
}

/// The library's own verdict on a config: the `msg` of the warn line it logs with the first line
/// a process writes (here `env` starting an MCP-named child with a fresh environment).
fn library_warning(config: &Path, dir: &Path) -> String {
    let so = Path::new(env!("CARGO_BIN_EXE_mcp-env-shim")).with_file_name("libmcp_env_shim.so");
    assert!(
        so.exists(),
        "{} is missing: build the library first (cargo build --release --workspace)",
        so.display()
    );
    let log = dir.join("lib.log");
    // Exists and empty: a process run as root writes only to a log file that exists.
    std::fs::write(&log, "").unwrap();
    let server = dir.join("mcp-server-probe");
    let _ = std::fs::remove_file(&server);
    std::os::unix::fs::symlink("/bin/true", &server).unwrap();
    let st = Command::new("/usr/bin/env")
        .args([OsStr::new("-i"), server.as_os_str()])
        .env_clear()
        .env("LD_PRELOAD", &so)
        .env("HTTPS_PROXY", "http://proxy.test:1")
        .env("MCP_ENV_SHIM_CONFIG", config)
        .env("MCP_ENV_SHIM_LOG", &log)
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let line: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap_or("{}")).unwrap();
    line["msg"].as_str().unwrap_or("(no warning)").to_string()
}

#[test]
fn status_reads_the_config_exactly_as_the_library_does() {
    let dir = scratch("config");
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Valid JSON over 1 MiB: read without the limit, it would switch the mode to `all`.
    let big = dir.join("big.json");
    let mut text = String::from("{\"mode\": \"all\"");
    text.push_str(&" ".repeat(1 << 20));
    text.push('}');
    std::fs::write(&big, text).unwrap();
    let latin1 = dir.join("latin1.json");
    std::fs::write(&latin1, b"{\"include\": [\"caf\xe9\"]}").unwrap();
    let subdir = dir.join("a-directory");
    std::fs::create_dir_all(&subdir).unwrap();
    for config in [
        fifo.clone(),
        PathBuf::from("/dev/zero"),
        big,
        latin1,
        subdir,
        dir.join("missing.json"),
    ] {
        let want = library_warning(&config, &dir);
        let env = [(os("MCP_ENV_SHIM_CONFIG"), config.as_os_str())];
        let (code, out) = cli_raw(&env, &[os("status")], Duration::from_secs(20));
        assert_eq!(code, Some(0), "{}: {out}", config.display());
        assert!(
            out.contains(&format!("warning: {want}")),
            "{}: the library says {want:?}, the CLI:\n{out}",
            config.display()
        );
        assert!(out.contains("mode: mcp"), "{}: {out}", config.display());
    }
}

/// Runs `status` as another user when this test is root (root may write anywhere), so that a
/// log owned by root with mode 0644 is one this user cannot append to, as in issue 7 item 6.
fn status_as_other_user(log: &Path, json: bool) -> String {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut bin = PathBuf::from(env!("CARGO_BIN_EXE_mcp-env-shim"));
    if root {
        // The build may sit in a directory only root may enter (a clone in `mktemp -d`): the
        // other user runs a copy next to the log.
        let copy = log.with_file_name("mcp-env-shim");
        std::fs::copy(&bin, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin = copy;
    }
    let mut cmd = Command::new(&bin);
    cmd.env_clear().env("MCP_ENV_SHIM_LOG", log).arg("status");
    if json {
        cmd.arg("--json");
    }
    if root {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn status_shows_that_log_lines_are_dropped_and_how_many_writers_lost() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("health");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.join("shim.log");
    std::fs::write(
        &log,
        concat!(
            r#"{"ts":"2026-11-25T16:00:00.000Z","event":"inject","pid":5,"ppid":1,"via":"execve","exe":"/a","reason":"name:program","injected":[],"kept":[],"dropped":3}"#, "\n",
            "a line from another program\n",
            r#"{"ts":"2026-11-25T16:05:00.000Z","event":"warn","pid":6,"ppid":1,"msg":"x","dropped":2}"#, "\n",
        ),
    )
    .unwrap();
    // Root created it 0644 (or, not as root, it is read-only for this user).
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o444)).unwrap();
    if unsafe { libc::geteuid() } == 0 {
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = status_as_other_user(&log, false);
    assert!(out.contains("log-file: exists=yes type=file"), "{out}");
    assert!(out.contains("writable=no"), "{out}");
    assert!(out.contains("log-file: DROPPING LINES: this user"), "{out}");
    assert!(
        out.contains(
            "log-lines: lines=3 json=2 last=2026-11-25T16:05:00.000Z dropped=5 warnings=1"
        ),
        "{out}"
    );
    let out = status_as_other_user(&log, true);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["log"]["writable"], false, "{out}");
    assert_eq!(v["log"]["dropped"], 5, "{out}");
    assert_eq!(v["log"]["type"], "file", "{out}");
    assert!(v["keys"].as_array().is_some_and(|k| k.len() >= 20), "{out}");

    // A FIFO in the log's place takes no line.
    let fifo = dir.join("fifo.log");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
    let (ok, out) = cli(&[("MCP_ENV_SHIM_LOG", fifo.to_str().unwrap())], &["status"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("type=fifo") && out.contains("DROPPING LINES: it is a fifo"),
        "{out}"
    );
}

// --- diagnose ---------------------------------------------------------------------------------

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../diagnose/testdata")
}

const SHIM_4242: &str = r#"{"ts":"2026-05-06T17:01:58.000Z","event":"inject","pid":4242,"ppid":4200,"via":"execvp","exe":"/usr/bin/npx","reason":"name:package","injected":["HTTPS_PROXY"],"kept":["NODE_EXTRA_CA_CERTS"],"missing":{}}"#;

#[test]
fn diagnose_reads_openshells_logs_and_exits_1_on_a_failure() {
    let dir = scratch("diag");
    let shim = dir.join("shim.log");
    std::fs::write(&shim, format!("{SHIM_4242}\n")).unwrap();
    let sandbox = testdata();
    let args = [
        "diagnose",
        "--sandbox-log",
        sandbox.to_str().unwrap(),
        "--shim-log",
        shim.to_str().unwrap(),
        "--json",
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-env-shim"))
        .env_clear()
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let findings: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let verdicts: Vec<_> = findings
        .iter()
        .map(|f| f["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        [
            "policy-denied",
            "policy-denied",
            "not-injected",
            "ca-own-kept"
        ],
        "newest first"
    );
    let own = &findings[3];
    assert_eq!(
        (own["pid"].as_u64(), own["server_pid"].as_u64()),
        (Some(4242), Some(4242))
    );
    for k in ["pid", "exe", "server_pid", "verdict", "detail", "fix"] {
        assert!(own.get(k).is_some(), "{k}: {own}");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("4 failed connections") && err.contains("1 shim lines"),
        "{err}"
    );
}

#[test]
fn diagnose_exits_0_on_no_failure_and_2_on_a_missing_log() {
    let dir = scratch("diag0");
    let log = dir.join("openshell.2026-05-06.log");
    std::fs::write(&log, "2026-05-06T17:02:00.000Z OCSF NET:OPEN [INFO] ALLOWED /usr/bin/node(1) -> a:443 [policy:default engine:opa]\n").unwrap();
    let shim = dir.join("shim.log");
    std::fs::write(&shim, "").unwrap();
    let run = |sandbox: &Path, shim: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_mcp-env-shim"))
            .env_clear()
            .args(["diagnose", "--sandbox-log"])
            .arg(sandbox)
            .arg("--shim-log")
            .arg(shim)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&dir, &shim);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("0 failed connections (none) in 1 sandbox events"),
        "{err}"
    );
    // No OpenShell log at all is not "no failures".
    let empty = scratch("diag-empty");
    let (code, err) = run(&empty, &shim);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no OpenShell log in"), "{err}");
    let (code, err) = run(&dir.join("missing.log"), &shim);
    assert_eq!(code, Some(2), "{err}");
    // An unreadable shim log is bad input; a missing one is reported and the run goes on.
    let (code, err) = run(&dir, &dir.join("no-shim.log"));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("does not exist: the shim has written no line there"),
        "{err}"
    );
    let (code, err) = run(&dir, &dir.join("openshell.2026-05-06.log/x"));
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn diagnose_follows_both_logs_across_the_daily_rotation() {
    use std::io::{BufRead, Write};
    let dir = scratch("follow");
    // Yesterday's file, with an old failure: --follow starts from now and does not repeat it.
    std::fs::copy(
        testdata().join("openshell.2026-05-06.log"),
        dir.join("openshell.2026-05-06.log"),
    )
    .unwrap();
    let shim = dir.join("shim.log");
    std::fs::write(&shim, "").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-env-shim"))
        .env_clear()
        .args(["diagnose", "--follow", "--json", "--sandbox-log"])
        .arg(&dir)
        .arg("--shim-log")
        .arg(&shim)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let now = || {
        let out = Command::new("date")
            .args(["-u", "+%Y-%m-%dT%H:%M:%S.%3NZ"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    // The shim logs a server, then the day turns: a new file, whose lines must be read.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&shim)
        .unwrap();
    writeln!(f, r#"{{"ts":"{}","event":"inject","pid":31337,"ppid":31000,"via":"execvp","exe":"/x/mcp-server-new","reason":"name:program","injected":["HTTPS_PROXY"],"kept":["SSL_CERT_FILE"],"missing":{{}}}}"#, now()).unwrap();
    let today = dir.join("openshell.2026-05-07.log");
    let mut f = std::fs::File::create(&today).unwrap();
    writeln!(f, "{} OCSF NET:OPEN [INFO] ALLOWED /usr/bin/python3(31337) -> api.example.com:443 [policy:default engine:opa]", now()).unwrap();
    // Half a line first: nothing may be read of it until it is whole.
    write!(f, "{} OCSF NET:FAIL [LOW] api.exa", now()).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600)); // lets a poll see the half line
    writeln!(f, "mple.com:443").unwrap();
    let got = rx.recv_timeout(Duration::from_secs(20));
    // SAFETY: the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    let line = got.expect("no finding from --follow within 20 s");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["verdict"], "ca-own-kept", "{line}");
    assert_eq!(v["pid"], 31337, "{line}");
    assert_eq!(v["dest"], "api.example.com:443", "{line}");
    assert!(
        rx.try_recv().is_err(),
        "the old day's failures are not repeated"
    );
}
