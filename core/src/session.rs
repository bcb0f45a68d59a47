//! What the shim knows about its host process, prepared once at load time and only read
//! afterwards: the mode, the log destination, the block's keys with the host's own values and
//! the config's, whether the host is an OpenShell sandbox, and the selector. Preparation is
//! deliberately light (one pass over the environment, a copy of the few block values, the
//! config only if one exists): under `/etc/ld.so.preload` every process pays for it.
//!
//! The per-child work, deciding (`plan`) and finding each missing key's value (`values`),
//! happens on the exec path, allocation-free. Pure: the environment and the file system come
//! in as traits, so all of it is unit-tested without preloading anything.

use crate::block::{self, Kind, ProxyRole, BUILTIN, MAX_KEYS};
use crate::config::{Config, LogDest, Mode};
use crate::detect::{Arg, Reason};
use crate::envp::bits;
use crate::envp::{self, ChildEnv, KeyTable};
use crate::select::Selector;
use crate::stdio::StdioSource;
use crate::values::Exists;
use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::ffi::CString;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The length of all the built-in block's names together.
const BUILTIN_NAMES: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < BUILTIN.len() {
        n += BUILTIN[i].name.len();
        i += 1;
    }
    n
};

/// gRPC's proxy key, which it prefers over `https_proxy` and `http_proxy`.
const GRPC_PROXY: &str = "grpc_proxy";

/// Where the config lives unless `MCP_ENV_SHIM_CONFIG` says otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/mcp-env-shim/config.json";

/// The host process's environment as the session needs it.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;

    /// A value as the bytes it is, for a path, which need not be UTF-8.
    fn var_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.var(name).map(String::into_bytes)
    }

    /// The values of many keys at once, as bytes (an environment value need not be UTF-8);
    /// the library reads its environment once for all and borrows the values.
    fn vars(&self, names: &[&str]) -> Vec<Option<Cow<'_, [u8]>>> {
        names
            .iter()
            .map(|n| self.var(n).map(|v| Cow::Owned(v.into_bytes())))
            .collect()
    }

    /// Which of `envp::CLIENT_DEFAULTS` the process has, as a mask.
    fn client_defaults(&self) -> u8 {
        envp::client_defaults(
            self.vars(&envp::CLIENT_DEFAULTS)
                .iter()
                .map(Option::is_some),
        )
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The host process's own block values: what a child that lost them may be given back. The
/// library reads them from the environment the host had when it loaded, the first time a child
/// needs them (see the library's `host.rs`); the CLI and the tests from `HostValues`.
pub trait Host {
    /// The host's value of block key `i`.
    fn value(&self, i: usize) -> Option<&[u8]>;
    /// The block keys the host has (a mask of indexes).
    fn has(&self) -> u64;
    /// Which of `envp::CLIENT_DEFAULTS` the host has.
    fn defaults(&self) -> u8;
    /// The longest of its values: a bound for a child's strings.
    fn longest(&self) -> usize;
}

/// `Host` from an environment read up front: the CLI, a healing server (its parent's), tests.
#[derive(Debug, Default)]
pub struct HostValues {
    values: Vec<Option<Box<[u8]>>>,
    has: u64,
    defaults: u8,
}

impl HostValues {
    /// The block values of `env` for `s`'s keys (none in secure mode: the environment belongs
    /// to the user who started a set-user-ID program).
    pub fn read(s: &Session, env: &dyn Env) -> HostValues {
        if s.process.secure || s.mode == Mode::Off {
            return HostValues::default();
        }
        let names: Vec<&str> = s.keys.iter().map(|k| k.name).collect();
        let mut has = 0u64;
        let values = env
            .vars(&names)
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let v = v?;
                has |= 1 << i;
                Some(v.into_owned().into_boxed_slice())
            })
            .collect();
        HostValues {
            values,
            has,
            defaults: env.client_defaults(),
        }
    }
}

impl Host for HostValues {
    fn value(&self, i: usize) -> Option<&[u8]> {
        self.values.get(i)?.as_deref()
    }
    fn has(&self) -> u64 {
        self.has
    }
    fn defaults(&self) -> u8 {
        self.defaults
    }
    fn longest(&self) -> usize {
        self.values
            .iter()
            .flatten()
            .map(|v| v.len())
            .max()
            .unwrap_or(0)
    }
}

/// The file system as load-time preparation needs it.
pub trait Fs {
    fn exists(&self, path: &str) -> bool;
    /// A config file's text: a regular file of at most `config::MAX_CONFIG_BYTES`, never
    /// blocking on a FIFO or a device (see `config`).
    fn read(&self, path: &str) -> Result<String, String>;
}

/// Who the process is, as far as trusting its environment goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Process {
    /// Secure-execution mode (`AT_SECURE`: set-user-ID and set-group-ID programs): the
    /// environment belongs to the unprivileged user who started it, and nothing is read from
    /// it, not even the shim's own settings.
    pub secure: bool,
    /// The process can write where its user cannot (effective uid 0, or secure mode): a log
    /// file must already exist, be a regular file and belong to root or to the effective uid.
    pub privileged: bool,
}

/// The log destination, ready for `open(2)`.
#[derive(Debug, PartialEq, Eq)]
pub enum LogTarget {
    Off,
    Stderr,
    File(CString),
}

/// Where an injected value came from; shown by the CLI and the tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Config,
    Host,
    Sibling(&'static str),
    OpenShell,
    /// `NODE_USE_ENV_PROXY=1`, implied by an injected proxy key.
    Implied,
}

/// Why a key the child lacks was not given to it; logged under `missing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    NoValue,
    CaFileNotFound,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::NoValue => "no-value",
            Why::CaFileNotFound => "ca-file-not-found",
        }
    }
}

/// One key of the block, with the values known at load time.
#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub kind: Kind,
    /// The config's value.
    pub config: Option<Box<[u8]>>,
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        self.name.as_bytes()
    }
}

#[derive(Debug)]
pub struct Session {
    pub mode: Mode,
    pub log: LogTarget,
    pub process: Process,
    /// The block, by the index used in every mask.
    pub keys: Vec<Key>,
    pub table: &'static KeyTable,
    /// Keys the config sets a value for.
    pub config_has: u64,
    /// Whether the host is an OpenShell sandbox, and its TLS directory: the built-in defaults
    /// apply only then.
    pub sandbox: Sandbox,
    pub selector: Selector,
    /// Reported in the log, with the first line this process writes (never on their own:
    /// under a global preload every process would print them).
    pub warnings: Vec<String>,
    /// The length of all key names together, for `max_kv`.
    names_len: usize,
}

/// A selected child: why, which block keys it has, whether it lost the host's block, and the
/// keys it may be given (each still needs a value, see `values`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan<'a> {
    pub reason: Reason,
    /// The name the detection rule matched, for the log (empty for other reasons).
    pub server: &'a [u8],
    pub present: u64,
    /// The child lost the host's block (or the host has none to restore): values derived from
    /// siblings and the OpenShell defaults may fill its gaps. A child that kept the block is
    /// only given what the host itself has (or the config sets) and the child lacks.
    pub lost: bool,
    pub candidates: u64,
}

impl Session {
    /// Decides about a child from its program, arguments, envp keys and what its stdin and
    /// stdout are; `None` leaves it alone. Allocation-free: the exec path calls it.
    pub fn plan<'a, 'e, A: Arg<'a>>(
        &self,
        host: &impl Host,
        exe: &'a [u8],
        args: &[A],
        env_keys: impl Iterator<Item = &'e [u8]>,
        stdio: impl StdioSource,
    ) -> Option<Plan<'a>> {
        let mut defaults = 0;
        let keys = env_keys.inspect(|k| defaults |= envp::client_default_bit(k));
        let present = self.table.presence(&self.keys, keys);
        // The host's values only if a rule needs them, or once the child is selected.
        let env = || ChildEnv {
            dropped: envp::dropped(host.has(), present),
            defaults,
            host_defaults: host.defaults(),
        };
        let chosen = self.selector.select(self.mode, exe, args, env, stdio)?;
        let lost = envp::dropped(host.has(), present) || host.has() == 0;
        let allowed = if lost {
            self.all()
        } else {
            self.config_has | host.has()
        };
        Some(Plan {
            reason: chosen.reason,
            server: chosen.server,
            present,
            lost,
            candidates: allowed & !present & !self.shadowed(present),
        })
    }

    /// Keys a child must not be given because it set a twin of its own: another spelling of
    /// the same proxy (`https_proxy` when it has `HTTPS_PROXY`: curl, Python and Node read the
    /// lower case first, Go the upper case, so either would override its choice); the
    /// scheme-specific proxies when it has its own `ALL_PROXY` (curl, requests and Node use
    /// them before it); and `grpc_proxy` when it has an HTTP(S) proxy (gRPC prefers
    /// `grpc_proxy` over them).
    pub fn shadowed(&self, present: u64) -> u64 {
        let role = |k: &Key| match k.kind {
            Kind::Proxy(r) if k.name != GRPC_PROXY => Some(r),
            _ => None,
        };
        let mut roles = [false; 4];
        for k in bits(present).filter_map(|i| self.keys.get(i)) {
            if let Some(r) = role(k) {
                if let Some(seen) = roles.get_mut(r as usize) {
                    *seen = true;
                }
            }
        }
        let own = |r: ProxyRole| roles.get(r as usize).copied().unwrap_or(false);
        let web = own(ProxyRole::Http) || own(ProxyRole::Https);
        let has = |r: ProxyRole| {
            own(r) || (matches!(r, ProxyRole::Http | ProxyRole::Https) && own(ProxyRole::All))
        };
        let mut out = 0;
        for (i, k) in self.keys.iter().enumerate().take(64) {
            let twin = match role(k) {
                Some(r) => has(r),
                None => k.name == GRPC_PROXY && web,
            };
            if twin {
                out |= 1 << i;
            }
        }
        out
    }

    /// The mask of every key of the block.
    pub fn all(&self) -> u64 {
        match self.keys.len() {
            0 => 0,
            n if n >= 64 => u64::MAX,
            n => (1u64 << n) - 1,
        }
    }

    /// An upper bound of the bytes all of one child's `KEY=VALUE\0` strings need, with the
    /// host's values: every key with the longest value any key may take.
    pub fn max_kv(&self, host: &impl Host) -> usize {
        let longest = self
            .keys
            .iter()
            .filter_map(|k| k.config.as_deref())
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0)
            .max(host.longest())
            .max(self.sandbox.longest_dir() + block::LONGEST_DEFAULT);
        self.names_len + self.keys.len() * (2 + longest)
    }

    /// The index of a key, by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.keys.iter().position(|k| k.name == name)
    }

    /// Prepares the session from the host's environment and the file system.
    pub fn prepare(env: &dyn Env, process: Process, fs: &dyn Fs) -> Session {
        Session::prepare_with(env, None, process, fs)
    }

    /// As `prepare`, with a second environment (the parent's, for a server healing itself at
    /// start) consulted for the shim's own settings after `env`.
    pub fn prepare_with(
        env: &dyn Env,
        parent: Option<&dyn Env>,
        process: Process,
        fs: &dyn Fs,
    ) -> Session {
        let mut warnings = Vec::new();
        // Secure mode reads nothing from the environment: the user who started a
        // set-user-ID program must not choose its mode, its log or its config.
        let setting = |name: &str| -> Option<String> {
            if process.secure {
                return None;
            }
            env.var(name).or_else(|| parent.and_then(|p| p.var(name)))
        };
        let path_setting = |name: &str| -> Option<Vec<u8>> {
            if process.secure {
                return None;
            }
            env.var_bytes(name)
                .or_else(|| parent.and_then(|p| p.var_bytes(name)))
        };
        let env_mode = setting("MCP_ENV_SHIM").map(|m| {
            Mode::parse(&m).unwrap_or_else(|| {
                warnings.push(format!(
                    "MCP_ENV_SHIM={} is not mcp, all, audit or off; using mcp",
                    crate::config::quoted(&m)
                ));
                Mode::Mcp
            })
        });
        if env_mode == Some(Mode::Off) {
            // Off means off: no config read, nothing prepared, hooks pass straight through.
            return Session::off(process, warnings);
        }

        let config = load_config(path_setting("MCP_ENV_SHIM_CONFIG"), fs, &mut warnings);
        let mode = env_mode
            .or_else(|| config.mode.as_deref().and_then(Mode::parse))
            .unwrap_or(Mode::Mcp);
        if mode == Mode::Off {
            return Session::off(process, warnings);
        }
        let log = log_target(path_setting("MCP_ENV_SHIM_LOG"), &config, &mut warnings);

        let mut keys: Vec<Key> = Vec::with_capacity(BUILTIN.len() + config.values.len());
        for k in BUILTIN {
            keys.push(Key {
                name: k.name,
                kind: k.kind,
                config: None,
            });
        }
        for extra in config.extra_keys.iter().chain(config.values.keys()) {
            if keys.iter().any(|k| k.name == extra) {
                continue;
            }
            if keys.len() == MAX_KEYS {
                warnings.push(format!(
                    "more than {MAX_KEYS} block keys; {extra} and later ones are ignored"
                ));
                break;
            }
            keys.push(Key {
                name: Box::leak(extra.clone().into_boxed_str()),
                kind: Kind::Extra,
                config: None,
            });
        }
        let mut config_has = 0u64;
        if !config.values.is_empty() {
            for (i, k) in keys.iter_mut().enumerate() {
                if let Some(v) = config.values.get(k.name) {
                    k.config = Some(v.as_bytes().into());
                    config_has |= 1 << i;
                }
            }
        }

        let sandbox = Sandbox::new(&setting);
        let names_len: usize = if keys.len() == BUILTIN.len() {
            BUILTIN_NAMES
        } else {
            keys.iter().map(|k| k.name.len()).sum()
        };

        let selector = Selector::new(&config.include, &config.exclude, &mut warnings);

        static BUILTIN_TABLE: KeyTable = KeyTable::builtin();
        let table: &'static KeyTable = if keys.len() == BUILTIN.len() {
            &BUILTIN_TABLE
        } else {
            Box::leak(Box::new(KeyTable::new(&keys)))
        };
        Session {
            mode,
            log,
            process,
            table,
            keys,
            config_has,
            sandbox,
            selector,
            warnings,
            names_len,
        }
    }

    fn off(process: Process, warnings: Vec<String>) -> Session {
        Session {
            mode: Mode::Off,
            log: LogTarget::Off,
            process,
            keys: Vec::new(),
            table: &EMPTY_TABLE,
            config_has: 0,
            sandbox: Sandbox::default(),
            selector: Selector::default(),
            warnings,
            names_len: 0,
        }
    }
}

static EMPTY_TABLE: KeyTable = KeyTable::empty();

/// The config named by `MCP_ENV_SHIM_CONFIG`, else the default file if it exists, else
/// defaults. A config that cannot be read or parsed is one warning.
fn load_config(named: Option<Vec<u8>>, fs: &dyn Fs, warnings: &mut Vec<String>) -> Config {
    let path = match named.filter(|p| !p.is_empty()) {
        Some(p) => match String::from_utf8(p) {
            Ok(p) => p,
            Err(e) => {
                let shown = String::from_utf8_lossy(e.as_bytes());
                warnings.push(format!(
                    "config {}: the path is not UTF-8; using the defaults",
                    crate::config::quoted(&shown)
                ));
                return Config::default();
            }
        },
        None if fs.exists(DEFAULT_CONFIG) => DEFAULT_CONFIG.to_string(),
        None => return Config::default(),
    };
    read_config(&path, fs, warnings)
}

/// Reads and parses a config file: out of line and marked cold, with the parser, so that a
/// process with no config runs a few pages of code at load (the library's src/load.ld).
#[inline(never)]
#[cold]
fn read_config(path: &str, fs: &dyn Fs, warnings: &mut Vec<String>) -> Config {
    match fs.read(path).and_then(|text| Config::parse(&text)) {
        Ok(c) => c,
        Err(e) => {
            warnings.push(format!("config {path}: {e}; using the defaults"));
            Config::default()
        }
    }
}

/// `MCP_ENV_SHIM_LOG`, then the config's `log`, then stderr.
fn log_target(named: Option<Vec<u8>>, config: &Config, warnings: &mut Vec<String>) -> LogTarget {
    let from_env = named.map(|bytes| {
        let parsed = match core::str::from_utf8(&bytes) {
            Ok(s) => LogDest::parse(s),
            // A path is bytes: a file name that is not UTF-8 is still that file.
            Err(_) if bytes.starts_with(b"/") => {
                return CString::new(bytes).map_or(LogTarget::Stderr, LogTarget::File);
            }
            Err(_) => LogDest::parse(&String::from_utf8_lossy(&bytes)),
        };
        match parsed {
            Ok(LogDest::Off) => LogTarget::Off,
            Ok(LogDest::Stderr) => LogTarget::Stderr,
            Ok(LogDest::File(p)) => CString::new(p).map_or(LogTarget::Stderr, LogTarget::File),
            Err(e) => {
                warnings.push(format!("MCP_ENV_SHIM_LOG: {e}; logging to stderr"));
                LogTarget::Stderr
            }
        }
    });
    if let Some(t) = from_env {
        return t;
    }
    let dest = config
        .log
        .as_deref()
        .and_then(|l| LogDest::parse(l).ok())
        .unwrap_or(LogDest::Stderr);
    match dest {
        LogDest::Off => LogTarget::Off,
        LogDest::Stderr => LogTarget::Stderr,
        LogDest::File(p) => CString::new(p).map_or(LogTarget::Stderr, LogTarget::File),
    }
}

/// Whether the host is an OpenShell sandbox (`OPENSHELL_SANDBOX=1`, or the sandbox CA exists)
/// and its TLS directory: `OPENSHELL_PROXY_TLS_DIR`, else the directory that holds the CA (the
/// network-namespace setup's or the sidecar's). The settings are read at load; the files are
/// looked at only when a child first needs a default (`tls_dir`), not by every process at load.
#[derive(Clone, Debug, Default)]
pub struct Sandbox {
    flagged: bool,
    /// `OPENSHELL_PROXY_TLS_DIR` without a trailing `/`, and its CA's path with a NUL.
    moved: Option<(Box<str>, Box<[u8]>)>,
}

impl Sandbox {
    fn new(setting: &dyn Fn(&str) -> Option<String>) -> Sandbox {
        let flagged = setting("OPENSHELL_SANDBOX").as_deref() == Some("1");
        let moved = setting("OPENSHELL_PROXY_TLS_DIR")
            .filter(|d| !d.is_empty())
            .map(|d| {
                let d = d.trim_end_matches('/');
                let ca = concat(&[d, "/", block::OPENSHELL_CA, "\0"]);
                (d.into(), ca.into_bytes().into_boxed_slice())
            });
        Sandbox { flagged, moved }
    }

    /// The TLS directory when the host is a sandbox, as the files are now; `None` outside one.
    pub fn tls_dir(&self, fs: &impl Exists) -> Option<&str> {
        if let Some((dir, ca)) = &self.moved {
            return (self.flagged || fs.exists(ca)).then_some(dir);
        }
        if fs.exists(block::OPENSHELL_CA_PATH_Z) {
            return Some(block::OPENSHELL_TLS_DIR);
        }
        if fs.exists(block::OPENSHELL_SIDECAR_CA_PATH_Z) {
            return Some(block::OPENSHELL_SIDECAR_TLS_DIR);
        }
        self.flagged.then_some(block::OPENSHELL_TLS_DIR)
    }

    /// The longest directory `tls_dir` may give: a bound for a child's strings.
    pub fn longest_dir(&self) -> usize {
        self.moved
            .as_ref()
            .map_or(0, |(d, _)| d.len())
            .max(block::OPENSHELL_SIDECAR_TLS_DIR.len())
    }
}

/// Joins strings into one exact allocation: cheaper at load time than `format!`, which every
/// process pays for under `/etc/ld.so.preload`.
fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>());
    for p in parts {
        s.push_str(p);
    }
    s
}

#[cfg(test)]
#[path = "session_tests.rs"]
pub(crate) mod tests;
