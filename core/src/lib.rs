//! The pure logic of mcp-env-shim, shared by the preload library and the CLI. Nothing here
//! touches FFI: the exec-path parts (`names`, `detect`, `select`, `envp`, `jsonline`) are
//! allocation-free and panic-free; `config` and `session` run at load time.

pub mod block;
pub mod config;
pub mod detect;
pub mod envp;
pub mod host;
pub mod jsonline;
pub mod names;
pub mod select;
pub mod session;
