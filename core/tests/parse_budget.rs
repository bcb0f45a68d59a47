//! `config::parse_budget` bounds the memory the library's load takes for a config: every byte
//! any allocation asks for while a session is prepared from a config file (the text, the
//! parse, the compiled patterns), counted as the library's bump allocator spends it (it never
//! frees, and a reallocation takes a new block), for the densest configs JSON allows. A
//! budget below what a config needs would let a process abort at load. Its own test binary:
//! the allocator counts for the whole process.

use mcp_env_shim_core::config::{parse_budget, MAX_CONFIG_BYTES};
use mcp_env_shim_core::session::{Fs, Process, Session};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static SPENT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            SPENT.fetch_add(l.size() + l.align() - 1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            SPENT.fetch_add(new + l.align() - 1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

struct OneFile(String);

impl Fs for OneFile {
    fn exists(&self, _: &str) -> bool {
        false
    }
    fn read(&self, _: &str) -> Result<String, String> {
        // The library reads the file into a buffer of its size plus one.
        let mut text = String::with_capacity(self.0.len() + 1);
        text.push_str(&self.0);
        Ok(text)
    }
}

/// A JSON array of `item` repeated to fill about `bytes`, under `field`.
fn dense(field: &str, item: impl Fn(usize) -> String, bytes: usize) -> String {
    let mut s = format!("{{\"{field}\":[");
    let mut i = 0;
    while s.len() < bytes {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&item(i));
        i += 1;
    }
    s.push_str("]}");
    s
}

#[test]
fn preparing_a_session_from_the_densest_configs_stays_within_the_budget() {
    let near = MAX_CONFIG_BYTES - 64;
    let letter = |i: usize| format!("\"{}\"", (b'a' + (i % 26) as u8) as char);
    let configs = [
        (
            "empty include patterns",
            dense("include", |_| "\"\"".into(), near),
        ),
        (
            "empty exclude patterns",
            dense("exclude", |_| "\"\"".into(), near),
        ),
        ("one-character patterns", dense("include", letter, near)),
        ("star patterns", dense("include", |_| "\"*\"".into(), near)),
        (
            "short unique patterns",
            dense("include", |i| format!("\"p{i}*\""), near),
        ),
        (
            "extra keys",
            dense("extra_keys", |i| format!("\"E{i}\""), near),
        ),
        // Usual configs: the fixed part of the budget holds them (a budget of 40 bytes a byte
        // alone would not).
        ("an empty object", "{}".to_string()),
        (
            "every field",
            r#"{"mode":"mcp","log":"/var/log/mcp-env-shim.log","values":{"HTTPS_PROXY":"http://10.200.0.1:3128","NO_PROXY":"localhost,127.0.0.1"},"extra_keys":["AWS_CA_BUNDLE"],"include":["weather-server","*-mcp"],"exclude":["*-test"]}"#.to_string(),
        ),
        // A string where a list, a map or the object belongs: serde_json's error would quote it
        // escaped (6 bytes a byte, four copies; at a size that just passes a doubling, 43 to 67
        // bytes a byte: a helper's attack).
        (
            "a string of DEL bytes where a list belongs",
            format!("{{\"include\":\"{}\"}}", "\u{7f}".repeat(137_500)),
        ),
        (
            "a smaller one",
            format!("{{\"include\":\"{}\"}}", "\u{7f}".repeat(17_100)),
        ),
        (
            "a string of DEL bytes where a map belongs",
            format!("{{\"values\":\"{}\"}}", "\u{7f}".repeat(137_500)),
        ),
        (
            "a string of DEL bytes for the whole config",
            format!("\"{}\"", "\u{7f}".repeat(137_500)),
        ),
        // Short globs, a few hundred: the densest small config measured (31 bytes a byte).
        (
            "short globs in a small file",
            dense("include", |_| "\"a*\"".into(), 1500),
        ),
        (
            "a small file",
            dense("include", |i| format!("\"x{i}\""), 600),
        ),
        (
            "one long value",
            format!("{{\"values\":{{\"K\":\"{}\"}}}}", "v".repeat(near - 40)),
        ),
        (
            "escapes",
            format!("{{\"include\":[\"{}\"]}}", "\\u00e9".repeat(near / 6 - 8)),
        ),
    ];
    let env =
        |k: &str| -> Option<String> { (k == "MCP_ENV_SHIM_CONFIG").then(|| "/c.json".into()) };
    for (what, text) in configs {
        assert!(
            text.len() <= MAX_CONFIG_BYTES,
            "{what}: {} bytes",
            text.len()
        );
        let fs = OneFile(text.clone());
        SPENT.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        let s = Session::prepare(&env, Process::default(), &fs);
        COUNTING.store(false, Ordering::Relaxed);
        let spent = SPENT.load(Ordering::Relaxed);
        let budget = parse_budget(text.len() as u64);
        assert!(
            spent <= budget,
            "{what}: {spent} bytes for a {}-byte config, over the budget of {budget}",
            text.len()
        );
        eprintln!(
            "{what}: {:.1} bytes per byte ({} warnings)",
            spent as f64 / text.len() as f64,
            s.warnings.len()
        );
        drop(s);
    }
}
