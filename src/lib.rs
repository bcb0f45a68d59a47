//! mcp-env-shim: a preload library that gives MCP servers the sandbox's proxy and CA
//! variables their clients dropped.
//!
//! Pure modules (`block`, `config`, `names`, `detect`, `select`, `envp`, `jsonline`,
//! `session`) know nothing of FFI and are unit-tested with `cargo test`. The FFI edge
//! (`real`, `log`, `spawn`, `hooks`, `init`) is compiled only into the library: in a test
//! binary, exported `execve` & co. would interpose the test runner's own.

pub mod block;
pub mod config;
pub mod detect;
pub mod envp;
pub mod jsonline;
pub mod names;
pub mod select;
pub mod session;

#[cfg(not(test))]
mod hooks;
#[cfg(not(test))]
mod init;
#[cfg(not(test))]
mod log;
#[cfg(not(test))]
mod real;
#[cfg(not(test))]
mod spawn;
