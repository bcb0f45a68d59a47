//! The operator's settings: the `MCP_ENV_SHIM*` variables and the JSON config file, parsed
//! into plain values. No I/O here; `session` reads the file and the environment.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Deserialize;

/// The largest config file the shim reads: a config is a few hundred bytes, and every process
/// reads it at load. The library and the CLI share this limit and the texts below, so that
/// `mcp-env-shim status` reports exactly what the library decides.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// A FIFO, device or directory is refused: reading it could hang or exhaust every process.
pub const NOT_REGULAR: &str = "not a regular file";
/// A file over `MAX_CONFIG_BYTES` (checked by a test).
pub const TOO_LARGE: &str = "larger than 1048576 bytes";
/// The config is JSON: UTF-8.
pub const NOT_UTF8: &str = "the file is not UTF-8";
/// The longest config path the library takes (it builds the C string on its stack).
pub const MAX_CONFIG_PATH: usize = 1023;
/// A path over `MAX_CONFIG_PATH` bytes, or one that holds a NUL.
pub const BAD_PATH: &str = "the path is too long or contains a NUL byte";

/// No memory could be set aside to read and parse the config (`parse_budget`).
pub const NO_MEMORY: &str = "not enough memory to read it";
/// The text is not a JSON object.
pub const NOT_AN_OBJECT: &str = "the config is not a JSON object";

/// The file grew between `fstat` and the read.
pub const CHANGED: &str = "the file changed while it was read";

/// The most memory reading and parsing a config of `size` bytes into a session may take. The
/// library sets it aside before it reads and skips a config it cannot have it for: an
/// allocation that fails at load would end the host process. The worst cases measured: 26
/// bytes per byte near the 1 MiB limit, an array of empty strings (`"",` is three bytes; a
/// `String` and its slot in a growing `Vec` take up to 96), and 31 for a few hundred short
/// globs in a small file (the caps on patterns and keys dilute larger ones); plus 16 KiB for what any config costs (under 1 KiB for `{}`,
/// under 4 KiB for one with every field); `core/tests/parse_budget.rs` holds the bound. Small,
/// so that a usual config's fits the library's static arena and its read maps no memory.
pub fn parse_budget(size: u64) -> usize {
    usize::try_from(size)
        .unwrap_or(usize::MAX)
        .saturating_mul(40)
        .saturating_add(16 << 10)
}

/// Whether a config file may be read, from what `fstat` says of the open file: only a regular
/// file of at most `MAX_CONFIG_BYTES`.
pub fn check_config_file(regular: bool, size: u64) -> Result<(), &'static str> {
    if !regular {
        Err(NOT_REGULAR)
    } else if size > MAX_CONFIG_BYTES as u64 {
        Err(TOO_LARGE)
    } else {
        Ok(())
    }
}

/// The config's text from the bytes read (at most `MAX_CONFIG_BYTES`, or `TOO_LARGE`).
pub fn config_text(bytes: Vec<u8>) -> Result<String, &'static str> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(TOO_LARGE);
    }
    String::from_utf8(bytes).map_err(|_| NOT_UTF8)
}

/// An errno as text, the same in the library (which has no strerror) and the CLI.
pub fn os_error(errno: i32) -> String {
    let text = match errno {
        1 => "Operation not permitted",
        2 => "No such file or directory",
        5 => "Input/output error",
        6 => "No such device or address",
        9 => "Bad file descriptor",
        12 => "Cannot allocate memory",
        13 => "Permission denied",
        20 => "Not a directory",
        21 => "Is a directory",
        23 | 24 => "Too many open files",
        36 => "File name too long",
        40 => "Too many levels of symbolic links",
        _ => "error",
    };
    format!("{text} (os error {errno})")
}

/// What the shim does with a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Inject into MCP-looking children only.
    Mcp,
    /// Inject into every child.
    All,
    /// Log what would be injected; change nothing.
    Audit,
    /// Do nothing at all.
    Off,
}

impl Mode {
    /// The flag's spelling of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Mcp => "mcp",
            Mode::All => "all",
            Mode::Audit => "audit",
            Mode::Off => "off",
        }
    }

    /// Parses a mode as the flag spells it; `None` for an unknown word (a long one is not
    /// copied to be lowered).
    pub fn parse(s: &str) -> Option<Mode> {
        let s = s.trim();
        if s.len() > 8 {
            return None;
        }
        match s.to_ascii_lowercase().as_str() {
            "mcp" | "" => Some(Mode::Mcp),
            "all" => Some(Mode::All),
            "audit" => Some(Mode::Audit),
            "off" | "0" | "false" | "no" => Some(Mode::Off),
            _ => None,
        }
    }
}

/// `s` quoted as `{:?}` writes it, its first 64 characters at most: a warning names a bad
/// value without growing with it (100 KB of control bytes, escaped, took more memory than the
/// library sets aside for its whole load, and a failed allocation there aborts the process).
pub fn quoted(s: &str) -> String {
    match s.char_indices().nth(64) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", s.get(..cut).unwrap_or(""), s.len()),
    }
}

/// Where log lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogDest {
    Stderr,
    Off,
    /// An absolute path, opened for append at each write.
    File(String),
}

impl LogDest {
    /// Parses a destination; a relative path is refused, as it would follow each process's cwd.
    pub fn parse(s: &str) -> Result<LogDest, String> {
        match s.trim() {
            "stderr" | "" => Ok(LogDest::Stderr),
            "off" => Ok(LogDest::Off),
            p if p.starts_with('/') => Ok(LogDest::File(p.to_string())),
            p => Err(format!(
                "log destination {} is not stderr, off or an absolute path",
                quoted(p)
            )),
        }
    }
}

/// The JSON config file. Every field is optional; an unknown field is an error, so that a
/// typo is reported instead of silently ignored.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub mode: Option<String>,
    pub log: Option<String>,
    /// Explicit values; a key outside the built-in block is added to it.
    #[serde(default, deserialize_with = "string_map")]
    pub values: BTreeMap<String, String>,
    /// Keys added to the block, valued from the host's environment.
    #[serde(default, deserialize_with = "strings")]
    pub extra_keys: Vec<String>,
    /// Name patterns (`*`, `?`) of children to select in mode `mcp`.
    #[serde(default, deserialize_with = "strings")]
    pub include: Vec<String>,
    /// Name patterns of children never to touch, in any mode.
    #[serde(default, deserialize_with = "strings")]
    pub exclude: Vec<String>,
}

/// What a string where a list or a map belongs is told, without its text: serde_json's own
/// error quotes the string escaped (`{:?}`: up to 6 bytes a byte, copied four times), past the
/// memory the library sets aside for a config (`parse_budget`), and a failed allocation at load
/// aborts the process.
const A_STRING: serde::de::Unexpected<'static> = serde::de::Unexpected::Other("a string");

/// A list of strings (`include`, `exclude`, `extra_keys`); a string in its place is an error
/// that does not quote it.
fn strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct List;
    impl<'de> serde::de::Visitor<'de> for List {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
            f.write_str("a list of strings")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut v = Vec::new();
            while let Some(s) = a.next_element()? {
                v.push(s);
            }
            Ok(v)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::invalid_type(A_STRING, &self))
        }
    }
    d.deserialize_any(List)
}

/// A map of strings to strings (`values`); a string in its place is an error that does not
/// quote it. A key given twice keeps its last value, as serde's own map does.
fn string_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct Map;
    impl<'de> serde::de::Visitor<'de> for Map {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
            f.write_str("a map of strings")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut m = BTreeMap::new();
            while let Some((k, v)) = a.next_entry()? {
                m.insert(k, v);
            }
            Ok(m)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::invalid_type(A_STRING, &self))
        }
    }
    d.deserialize_any(Map)
}

impl Config {
    /// Parses and checks a config file's text.
    pub fn parse(text: &str) -> Result<Config, String> {
        // Not an object at all: said without serde_json, whose error would quote a string.
        if !text.trim_start().starts_with('{') {
            return Err(NOT_AN_OBJECT.to_string());
        }
        let c: Config = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(m) = &c.mode {
            Mode::parse(m)
                .ok_or_else(|| format!("mode {} is not mcp, all, audit or off", quoted(m)))?;
        }
        if let Some(l) = &c.log {
            LogDest::parse(l)?;
        }
        for k in c.values.keys().chain(&c.extra_keys) {
            if !crate::block::valid_name(k) {
                return Err(format!(
                    "{} is not a valid environment variable name",
                    quoted(k)
                ));
            }
        }
        if let Some((k, _)) = c.values.iter().find(|(_, v)| v.contains('\0')) {
            return Err(format!("the value of {k} contains a NUL byte"));
        }
        for p in c.include.iter().chain(&c.exclude) {
            if p.is_empty() || p.contains('\0') {
                return Err(format!(
                    "pattern {} is empty or contains a NUL byte",
                    quoted(p)
                ));
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_value_is_its_debug_form_up_to_64_characters() {
        assert_eq!(quoted("mpc"), "\"mpc\"");
        assert_eq!(quoted(&"a".repeat(64)), format!("{:?}", "a".repeat(64)));
        let long = "\u{7f}".repeat(10_000);
        let q = quoted(&long);
        assert!(q.starts_with(&format!("{:?}", "\u{7f}".repeat(64))), "{q}");
        assert!(q.ends_with("... (10000 bytes)"), "{q}");
        assert!(q.len() < 500, "{}", q.len());
        // Cut on a character, never inside one.
        assert!(quoted(&"é".repeat(100)).ends_with("... (200 bytes)"));
    }

    #[test]
    fn a_string_where_a_list_a_map_or_the_object_belongs_is_not_quoted() {
        for text in [
            r#"{"include": "secret"}"#,
            r#"{"exclude": "secret"}"#,
            r#"{"extra_keys": "secret"}"#,
            r#"{"values": "secret"}"#,
            r#""secret""#,
        ] {
            let e = Config::parse(text).unwrap_err();
            assert!(!e.contains("secret"), "{text}: {e}");
        }
        assert_eq!(Config::parse(r#" "x" "#).unwrap_err(), NOT_AN_OBJECT);
        // What parses is unchanged: lists, a map whose key given twice keeps its last value.
        let c =
            Config::parse(r#"{"include": ["a", "b*"], "values": {"K": "1", "K": "2"}}"#).unwrap();
        assert_eq!(c.include, ["a", "b*"]);
        assert_eq!(c.values.get("K").map(String::as_str), Some("2"));
        assert!(Config::parse(r#"{"include": null}"#).is_err());
        assert!(Config::parse(r#"{"include": [1]}"#).is_err());
    }

    #[test]
    fn a_long_mode_is_unknown_without_a_copy() {
        assert_eq!(Mode::parse(" AUDIT "), Some(Mode::Audit));
        assert_eq!(Mode::parse(&"x".repeat(100_000)), None);
    }

    #[test]
    fn the_size_limit_and_its_text_agree() {
        assert_eq!(TOO_LARGE, format!("larger than {MAX_CONFIG_BYTES} bytes"));
        assert_eq!(check_config_file(true, MAX_CONFIG_BYTES as u64), Ok(()));
        assert_eq!(
            check_config_file(true, MAX_CONFIG_BYTES as u64 + 1),
            Err(TOO_LARGE)
        );
        assert_eq!(check_config_file(false, 10), Err(NOT_REGULAR));
        assert_eq!(config_text(b"{}".to_vec()), Ok("{}".into()));
        assert_eq!(config_text(b"caf\xe9".to_vec()), Err(NOT_UTF8));
        assert_eq!(
            config_text(vec![b' '; MAX_CONFIG_BYTES + 1]),
            Err(TOO_LARGE)
        );
    }

    #[test]
    fn modes_parse_with_their_synonyms() {
        assert_eq!(Mode::parse("MCP"), Some(Mode::Mcp));
        assert_eq!(Mode::parse("all"), Some(Mode::All));
        assert_eq!(Mode::parse(" audit "), Some(Mode::Audit));
        for off in ["off", "0", "false", "no", "No"] {
            assert_eq!(Mode::parse(off), Some(Mode::Off), "{off}");
        }
        assert_eq!(Mode::parse("yes"), None);
    }

    #[test]
    fn log_destinations_parse_and_relative_paths_are_refused() {
        assert_eq!(LogDest::parse("stderr"), Ok(LogDest::Stderr));
        assert_eq!(LogDest::parse("off"), Ok(LogDest::Off));
        assert_eq!(
            LogDest::parse("/var/log/x.log"),
            Ok(LogDest::File("/var/log/x.log".into()))
        );
        assert!(LogDest::parse("x.log").is_err());
    }

    #[test]
    fn a_full_config_parses() {
        let c = Config::parse(
            r#"{"mode":"audit","log":"/tmp/l","values":{"HTTPS_PROXY":"http://p:1"},
                "extra_keys":["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"],"include":["weather-*"],
                "exclude":["mcp-inspector"]}"#,
        )
        .unwrap();
        assert_eq!(c.mode.as_deref(), Some("audit"));
        assert_eq!(c.values["HTTPS_PROXY"], "http://p:1");
        assert_eq!(c.include, ["weather-*"]);
    }

    #[test]
    fn an_empty_object_is_all_defaults() {
        assert_eq!(Config::parse("{}").unwrap(), Config::default());
    }

    #[test]
    fn mistakes_are_reported_with_what_is_wrong() {
        let e = Config::parse(r#"{"mdoe":"all"}"#).unwrap_err();
        assert!(e.contains("unknown field `mdoe`"), "{e}");
        let e = Config::parse(r#"{"mode":"loud"}"#).unwrap_err();
        assert!(e.contains("loud"), "{e}");
        let e = Config::parse(r#"{"values":{"A=B":"x"}}"#).unwrap_err();
        assert!(e.contains("A=B"), "{e}");
        let e = Config::parse("{\"mode\": ").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(Config::parse(r#"{"log":"relative.log"}"#).is_err());
        assert!(Config::parse(r#"{"include":[""]}"#).is_err());
    }
}
