//! The file system for `Session::prepare`, through `std` (the library has its own, through
//! libc, as it is built without `std`).

use mcp_env_shim_core::session::Fs;
use mcp_env_shim_core::values::Exists;
use std::os::unix::ffi::OsStrExt;

pub struct HostFs;

impl Fs for HostFs {
    fn exists(&self, path: &str) -> bool {
        std::path::Path::new(path).exists()
    }
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

impl Exists for HostFs {
    fn exists(&self, path: &[u8]) -> bool {
        let path = path.strip_suffix(&[0]).unwrap_or(path);
        std::path::Path::new(std::ffi::OsStr::from_bytes(path)).exists()
    }
}
