//! The pure part of `mcp-env-shim diagnose`: why an MCP server's connection failed in the
//! sandbox. It parses OpenShell's proxy log (shorthand and OCSF JSON, `sandbox`) and the shim's
//! log (`shimlog`), ties each failure to the server it belongs to (`join`), and names the cause
//! with a fix (`verdict`, `finding`), in time order (`engine`). No I/O: the CLI reads the files
//! and `/proc` and hands them in (`join::Host`); tests use OpenShell's exact line formats.
//!
//! A crate of its own rather than `core/src/diagnose/`: `core` is what the preloaded library is
//! built from, and everything in it lives under the exec path's rules (no_std, reviewed for
//! allocation and panics, read by `c-tests/exec_path.py`). This code runs only in the CLI, is
//! allocation-heavy by nature (joins, text), and is better written with std's collections; it
//! depends on `core` for what must be the library's own: detection (`Selector`), modes, the
//! block's keys. Keeping it out leaves the library's crate to what the library runs.

pub mod engine;
pub mod finding;
pub mod join;
pub mod runtime;
pub mod sandbox;
pub mod shimlog;
pub mod time;
pub mod verdict;

pub use engine::Diagnoser;
pub use finding::{Failure, Finding, Verdict};
pub use join::{Binary, Host, Join, NoHost, Proc};
pub use verdict::{Context, ShimLog};

#[cfg(test)]
mod tests;
