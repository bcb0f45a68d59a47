//! The file system for `Session::prepare`, through `std` (the library has its own, through
//! libc, as it is built without `std`).

use mcp_env_shim_core::session::Fs;

pub struct HostFs;

impl Fs for HostFs {
    fn exists(&self, path: &str) -> bool {
        std::path::Path::new(path).exists()
    }
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}
