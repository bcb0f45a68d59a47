//! The real file system for `Session::prepare`, shared by the library's constructor and the
//! CLI. Load time only.

use crate::session::Fs;

pub struct HostFs;

impl Fs for HostFs {
    fn exists(&self, path: &str) -> bool {
        std::path::Path::new(path).exists()
    }
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}
