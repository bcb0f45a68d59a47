//! The pure logic of mcp-env-shim, shared by the preload library and the CLI. Nothing here
//! touches FFI: the exec-path parts (`names`, `detect`, `select`, `envp`, `stdio`, `arena`, `values`,
//! `jsonline`, `Session::plan`) are
//! allocation-free and panic-free; `config` and `session` run at load time.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arena;
pub mod block;
pub mod config;
pub mod detect;
pub mod envp;
pub mod jsonline;
pub mod names;
pub mod options;
pub mod patterns;
pub mod select;
pub mod session;
pub mod stdio;
pub mod values;
