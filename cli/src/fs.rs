//! The host for `Session::prepare`, through `std` (the library has its own, through libc, as it
//! is built without `std`): the environment and the config file, read exactly as the library
//! reads them, so that `status` and `explain` show what the library decides.

use mcp_env_shim_core::config::{self, MAX_CONFIG_BYTES};
use mcp_env_shim_core::session::{Env, Fs};
use mcp_env_shim_core::values::Exists;
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;

pub struct HostFs;

impl Fs for HostFs {
    fn exists(&self, path: &str) -> bool {
        std::path::Path::new(path).exists()
    }

    /// As the library: opened non-blocking (a FIFO must not hang), only a regular file of at
    /// most `MAX_CONFIG_BYTES`, UTF-8; the same texts for the same refusals.
    fn read(&self, path: &str) -> Result<String, String> {
        if path.len() > config::MAX_CONFIG_PATH || path.contains('\0') {
            return Err(config::BAD_PATH.into());
        }
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| config::os_error(e.raw_os_error().unwrap_or(0)))?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        config::check_config_file(meta.file_type().is_file(), meta.len())?;
        let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
        // One byte past the limit tells a file that grew since fstat from one that fits.
        file.take(MAX_CONFIG_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        config::config_text(bytes).map_err(String::from)
    }
}

/// This process's environment as the library reads its own: values that are not UTF-8 are
/// taken lossily, never refused (`std::env::var` would drop them).
pub struct HostEnv;

impl Env for HostEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }

    /// Values as bytes, as the library takes them.
    fn vars(&self, names: &[&str]) -> Vec<Option<std::borrow::Cow<'_, [u8]>>> {
        names
            .iter()
            .map(|n| std::env::var_os(n).map(|v| std::borrow::Cow::Owned(v.into_vec())))
            .collect()
    }
}

impl Exists for HostFs {
    fn exists(&self, path: &[u8]) -> bool {
        let path = path.strip_suffix(&[0]).unwrap_or(path);
        std::path::Path::new(std::ffi::OsStr::from_bytes(path)).exists()
    }
}
