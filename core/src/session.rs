//! What the shim knows, prepared once at load time: the mode, the log destination, every
//! block entry as a ready `KEY=VALUE` C string, the key lookup table, the selector, and the
//! warnings to report. The exec path only reads it. Pure: the environment and the file system
//! come in as functions, so it is unit-tested without preloading anything.

use crate::block::{self, Kind, BUILTIN, MAX_KEYS};
use crate::config::{Config, LogDest, Mode};
use crate::detect::{Arg, Reason};
use crate::envp::{self, ChildEnv, KeyTable};
use crate::select::Selector;
use crate::stdio::Stdio;
use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::ffi::CString;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Where the config lives unless `MCP_ENV_SHIM_CONFIG` says otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/mcp-env-shim/config.json";

/// The host process's environment as the session needs it.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;

    /// The values of many keys at once; the library reads its environment once for all,
    /// and borrows the values instead of copying them.
    fn vars(&self, names: &[Box<[u8]>]) -> Vec<Option<Cow<'_, str>>> {
        let var = |n: &[u8]| core::str::from_utf8(n).ok().and_then(|n| self.var(n));
        names.iter().map(|n| var(n).map(Cow::Owned)).collect()
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// No environment: what secure mode reads values from.
struct NoEnv;

impl Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

/// The file system as the session needs it.
pub trait Fs {
    fn exists(&self, path: &str) -> bool;
    fn read(&self, path: &str) -> Result<String, String>;
}

/// The log destination, ready for `open(2)`.
#[derive(Debug, PartialEq, Eq)]
pub enum LogTarget {
    Off,
    Stderr,
    File(CString),
}

/// Where a block value came from; shown by tests and the `explain` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Config,
    Host,
    Sibling(&'static str),
    OpenShell,
}

/// One key of the block.
#[derive(Debug)]
pub struct Entry {
    pub kind: Kind,
    /// `KEY=VALUE` and a NUL, ready for an envp; `None` when the key has no usable value.
    /// Neither names (checked), config values (checked) nor environment values can hold a
    /// NUL, so no C-string check is repeated here.
    pub kv: Option<Box<[u8]>>,
    pub source: Option<Source>,
}

impl Entry {
    /// The value this key is injected with.
    pub fn value(&self) -> Option<&str> {
        let kv = self.kv.as_deref()?;
        let kv = kv.strip_suffix(&[0]).unwrap_or(kv);
        let eq = kv.iter().position(|&b| b == b'=')?;
        core::str::from_utf8(kv.get(eq + 1..)?).ok()
    }
}

#[derive(Debug)]
pub struct Session {
    pub mode: Mode,
    pub log: LogTarget,
    /// Key names, by the index used in every mask.
    pub names: Vec<Box<[u8]>>,
    pub entries: Vec<Entry>,
    pub table: KeyTable,
    /// Keys that have a value to inject.
    pub with_value: u64,
    /// Keys the host process itself had in its environment.
    pub host_has: u64,
    /// `{"KEY":"why",...}` for keys that will never be injected; the same on every line.
    pub missing_json: Box<[u8]>,
    pub selector: Selector,
    /// Reported once, at load, as `warn` lines.
    pub warnings: Vec<String>,
}

/// A selected child: why, which block keys it has, which it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan<'a> {
    pub reason: Reason,
    /// The name the detection rule matched, for the log's `server`; empty when none.
    pub server: &'a [u8],
    pub present: u64,
    pub inject: u64,
}

impl Session {
    /// Decides about a child from its program, arguments, envp keys and what its stdin and
    /// stdout are; `None` leaves it alone. Allocation-free: the exec path calls it.
    pub fn plan<'a, 'e, A: Arg<'a>>(
        &self,
        exe: &'a [u8],
        args: &[A],
        env_keys: impl Iterator<Item = &'e [u8]>,
        stdio: Stdio,
    ) -> Option<Plan<'a>> {
        let mut defaults = 0;
        let keys = env_keys.inspect(|k| defaults |= envp::client_default_bit(k));
        let present = self.table.presence(&self.names, keys);
        let env = ChildEnv {
            dropped: envp::dropped(self.host_has, present),
            defaults,
        };
        let chosen = self.selector.select(self.mode, exe, args, env, stdio)?;
        Some(Plan {
            reason: chosen.reason,
            server: chosen.server,
            present,
            inject: self.with_value & !present,
        })
    }

    /// Prepares the session from the host's environment, whether the process runs
    /// in secure-execution mode, and the file system.
    pub fn prepare(env: &dyn Env, secure: bool, fs: &dyn Fs) -> Session {
        let mut warnings = Vec::new();
        let env_mode = env.var("MCP_ENV_SHIM").map(|m| {
            Mode::parse(&m).unwrap_or_else(|| {
                warnings.push(format!(
                    "MCP_ENV_SHIM={m:?} is not mcp, all, audit or off; using mcp"
                ));
                Mode::Mcp
            })
        });
        if env_mode == Some(Mode::Off) {
            // Off means off: no config read, nothing prepared, hooks pass straight through.
            return Session::off(warnings);
        }

        let config = load_config(env, secure, fs, &mut warnings);
        let mode = env_mode
            .or_else(|| config.mode.as_deref().and_then(Mode::parse))
            .unwrap_or(Mode::Mcp);
        let log = log_target(env, secure, &config, &mut warnings);

        let extras = config.extra_keys.len() + config.values.len();
        let mut names: Vec<Box<[u8]>> = Vec::with_capacity(BUILTIN.len() + extras);
        let mut kinds = Vec::with_capacity(BUILTIN.len() + extras);
        for k in BUILTIN {
            names.push(k.name.as_bytes().into());
            kinds.push(k.kind);
        }
        for extra in config.extra_keys.iter().chain(config.values.keys()) {
            if names.iter().any(|n| **n == *extra.as_bytes()) {
                continue;
            }
            if names.len() == MAX_KEYS {
                warnings.push(format!(
                    "more than {MAX_KEYS} block keys; {extra} and later ones are ignored"
                ));
                break;
            }
            names.push(extra.as_bytes().into());
            kinds.push(Kind::Extra);
        }

        // In secure mode the environment belongs to the unprivileged user who started a
        // set-user-ID program: none of its values may reach that program's children (a proxy
        // and CA of the user's choosing on root's traffic). Values then come only from the
        // root-owned default config and the built-in defaults, and nothing counts as dropped.
        let env_values: &dyn Env = if secure { &NoEnv } else { env };
        let tls_dir = openshell_tls_dir(env_values, fs);
        let sandbox = env_values.var("OPENSHELL_SANDBOX").as_deref() == Some("1")
            || fs.exists(&concat(&[&tls_dir, "/", block::OPENSHELL_CA]));

        // Each key's host value, read once; siblings are block keys, found here too.
        let host = env_values.vars(&names);
        let host_of = |key: &str| {
            let i = names.iter().position(|n| **n == *key.as_bytes())?;
            host.get(i)?.as_deref()
        };
        let mut entries = Vec::with_capacity(names.len());
        let (mut with_value, mut host_has) = (0u64, 0u64);
        let mut missing_json = String::from("{");
        for (i, (name, &kind)) in names.iter().zip(&kinds).enumerate() {
            let name = core::str::from_utf8(name).unwrap_or_default();
            let own = host.get(i).and_then(Option::as_deref);
            if own.is_some() {
                host_has |= 1 << i;
            }
            // Candidates best first. A path-valued key whose own value (config or host)
            // names a missing file is not injected; siblings and defaults that are missing
            // are skipped.
            let default = sandbox
                .then(|| block::openshell_default(kind, &tls_dir))
                .flatten();
            let candidates = config
                .values
                .get(name)
                .map(|v| (v.as_str(), Source::Config))
                .into_iter()
                .chain(own.map(|v| (v, Source::Host)))
                .chain(
                    block::siblings(kind)
                        .iter()
                        .filter_map(|s| host_of(s).map(|v| (v, Source::Sibling(s)))),
                )
                .chain(default.as_deref().map(|v| (v, Source::OpenShell)));
            let mut why = "no-value";
            let mut found = None;
            for (v, source) in candidates {
                if block::names_a_path(kind) && !fs.exists(v) {
                    why = "ca-file-not-found";
                    // The key's own value is not second-guessed; a derived one is skipped.
                    if matches!(source, Source::Config | Source::Host) {
                        break;
                    }
                    continue;
                }
                let kv = concat(&[name, "=", v, "\0"])
                    .into_bytes()
                    .into_boxed_slice();
                found = Some((kv, source));
                break;
            }
            let entry = match found {
                Some((kv, source)) => {
                    with_value |= 1 << i;
                    Entry {
                        kind,
                        kv: Some(kv),
                        source: Some(source),
                    }
                }
                None => {
                    // Names are environment variable names: nothing to escape.
                    if missing_json.len() > 1 {
                        missing_json.push(',');
                    }
                    for part in ["\"", name, "\":\"", why, "\""] {
                        missing_json.push_str(part);
                    }
                    Entry {
                        kind,
                        kv: None,
                        source: None,
                    }
                }
            };
            entries.push(entry);
        }
        missing_json.push('}');

        Session {
            mode,
            log,
            table: KeyTable::new(&names),
            names,
            entries,
            with_value,
            host_has,
            missing_json: missing_json.into_bytes().into(),
            selector: Selector::new(
                &config.include,
                &config.exclude,
                envp::client_defaults(
                    env_values
                        .vars(&envp::client_default_names())
                        .iter()
                        .map(Option::is_some),
                ),
                &mut warnings,
            ),
            warnings,
        }
    }

    fn off(warnings: Vec<String>) -> Session {
        let names: Vec<Box<[u8]>> = Vec::new();
        Session {
            mode: Mode::Off,
            log: LogTarget::Off,
            table: KeyTable::new(&names),
            names,
            entries: Vec::new(),
            with_value: 0,
            host_has: 0,
            missing_json: b"{}".to_vec().into(),
            selector: Selector::default(),
            warnings,
        }
    }
}

/// The config named by `MCP_ENV_SHIM_CONFIG` (ignored in secure mode), else the default file
/// if it exists, else defaults. A config that cannot be read or parsed is one warning.
fn load_config(env: &dyn Env, secure: bool, fs: &dyn Fs, warnings: &mut Vec<String>) -> Config {
    let path = match env
        .var("MCP_ENV_SHIM_CONFIG")
        .filter(|p| !secure && !p.is_empty())
    {
        Some(p) => p,
        None if fs.exists(DEFAULT_CONFIG) => DEFAULT_CONFIG.to_string(),
        None => return Config::default(),
    };
    match fs.read(&path).and_then(|text| Config::parse(&text)) {
        Ok(c) => c,
        Err(e) => {
            warnings.push(format!("config {path}: {e}; using the defaults"));
            Config::default()
        }
    }
}

/// `MCP_ENV_SHIM_LOG`, then the config's `log`, then stderr. In secure mode a path from the
/// environment is ignored: an unprivileged user must not choose a file for a setuid program.
fn log_target(
    env: &dyn Env,
    secure: bool,
    config: &Config,
    warnings: &mut Vec<String>,
) -> LogTarget {
    let from_env = env
        .var("MCP_ENV_SHIM_LOG")
        .and_then(|s| match LogDest::parse(&s) {
            Ok(LogDest::File(_)) if secure => None,
            Ok(d) => Some(d),
            Err(e) => {
                warnings.push(format!("MCP_ENV_SHIM_LOG: {e}; logging to stderr"));
                Some(LogDest::Stderr)
            }
        });
    let dest = from_env
        .or_else(|| config.log.as_deref().and_then(|l| LogDest::parse(l).ok()))
        .unwrap_or(LogDest::Stderr);
    match dest {
        LogDest::Off => LogTarget::Off,
        LogDest::Stderr => LogTarget::Stderr,
        LogDest::File(p) => CString::new(p).map_or(LogTarget::Stderr, LogTarget::File),
    }
}

/// `OPENSHELL_PROXY_TLS_DIR`, else the directory that holds the sandbox CA (the
/// network-namespace setup's or the sidecar's), else the usual one.
fn openshell_tls_dir(env: &dyn Env, fs: &dyn Fs) -> String {
    if let Some(d) = env.var("OPENSHELL_PROXY_TLS_DIR").filter(|d| !d.is_empty()) {
        return d.trim_end_matches('/').to_string();
    }
    for d in [block::OPENSHELL_TLS_DIR, block::OPENSHELL_SIDECAR_TLS_DIR] {
        if fs.exists(&concat(&[d, "/", block::OPENSHELL_CA])) {
            return d.to_string();
        }
    }
    block::OPENSHELL_TLS_DIR.to_string()
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;

/// Joins strings into one exact allocation: cheaper at load time than `format!`, which every
/// process pays for under `/etc/ld.so.preload`.
fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>());
    for p in parts {
        s.push_str(p);
    }
    s
}
