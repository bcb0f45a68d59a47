//! mcp-env-shim: a preload library that gives MCP servers the sandbox's proxy and CA
//! variables their clients dropped.
//!
//! This crate is only the FFI edge; the logic is in `mcp-env-shim-core`, unit-tested there
//! without preloading anything. The edge is compiled out of test builds: in a test binary,
//! exported `execve` & co. would interpose the test runner's own.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

#[cfg(not(test))]
mod carg;
#[cfg(not(test))]
mod heal;
#[cfg(not(test))]
mod hooks;
#[cfg(not(test))]
mod host;
#[cfg(not(test))]
mod init;
#[cfg(not(test))]
mod jumps;
#[cfg(not(test))]
mod link;
#[cfg(not(test))]
mod log;
#[cfg(not(test))]
mod probe;
#[cfg(not(test))]
mod procfs;
#[cfg(not(test))]
mod real;
#[cfg(not(test))]
mod rt;
#[cfg(not(test))]
mod scratch;
#[cfg(not(test))]
mod sigwindow;
#[cfg(not(test))]
mod spawn;
#[cfg(not(test))]
mod stdio;
#[cfg(not(test))]
mod sys;
