//! Live processes for `diagnose`, from `/proc`: parent, binary, command line, start time, and
//! whether the shim is loaded (`maps`) and in which mode (`MCP_ENV_SHIM` in `environ`; no other
//! value of a process's environment is read). Whatever cannot be read is left unknown.

use mcp_env_shim_diagnose::{Binary, Host, Proc};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

pub struct ProcFs {
    boot_ms: Option<i64>,
    ticks: i64,
}

impl ProcFs {
    pub fn new() -> ProcFs {
        let boot_ms = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<i64>().ok())
                .map(|s| s * 1000)
        });
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as i64;
        ProcFs { boot_ms, ticks }
    }
}

impl Host for ProcFs {
    fn process(&self, pid: u32) -> Option<Proc> {
        let dir = format!("/proc/{pid}");
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
        let fields: Vec<&str> = stat
            .get(stat.rfind(')')? + 1..)?
            .split_whitespace()
            .collect();
        if fields.first() == Some(&"Z") {
            return None;
        }
        let ppid = fields.get(1)?.parse().ok()?;
        let start_ms = fields
            .get(19)
            .and_then(|t| t.parse::<i64>().ok())
            .zip(self.boot_ms)
            .map(|(t, boot)| boot + t * 1000 / self.ticks);
        let exe = std::fs::read_link(format!("{dir}/exe"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let argv = std::fs::read(format!("{dir}/cmdline"))
            .map(|b| {
                b.split(|&c| c == 0)
                    .filter(|a| !a.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect()
            })
            .unwrap_or_default();
        let shim_loaded = std::fs::read(format!("{dir}/maps"))
            .ok()
            .map(|m| m.windows(15).any(|w| w == b"libmcp_env_shim"));
        let shim_mode = std::fs::read(format!("{dir}/environ")).ok().and_then(|e| {
            e.split(|&c| c == 0)
                .find_map(|kv| kv.strip_prefix(b"MCP_ENV_SHIM="))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        let binary = binary_of(&format!("{dir}/exe")).unwrap_or_default();
        Some(Proc {
            pid,
            ppid,
            exe,
            argv,
            start_ms,
            shim_loaded,
            shim_mode,
            binary,
        })
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as u64)
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as u64)
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn read_at(f: &mut File, off: u64, len: u64) -> Option<Vec<u8>> {
    if len > 1 << 20 {
        return None;
    }
    f.seek(SeekFrom::Start(off)).ok()?;
    let mut buf = vec![0; len as usize];
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// From the ELF headers (64-bit little-endian only): a Go program (it has a `.go.buildinfo`
/// or `.note.go.buildid` section), else static (no `PT_INTERP`) or dynamic.
fn binary_of(path: &str) -> Option<Binary> {
    let mut f = File::open(path).ok()?;
    let h = read_at(&mut f, 0, 64)?;
    if h.get(..4)? != b"\x7fELF" || h.get(4) != Some(&2) || h.get(5) != Some(&1) {
        return None;
    }
    let (phoff, shoff) = (u64_at(&h, 0x20)?, u64_at(&h, 0x28)?);
    let (phsize, phnum) = (u16_at(&h, 0x36)?, u16_at(&h, 0x38)?);
    let (shsize, shnum, shstrndx) = (u16_at(&h, 0x3a)?, u16_at(&h, 0x3c)?, u16_at(&h, 0x3e)?);
    let sections = read_at(&mut f, shoff, shsize * shnum).unwrap_or_default();
    let names = (|| {
        let s = sections.get((shstrndx * shsize) as usize..)?;
        read_at(&mut f, u64_at(s, 0x18)?, u64_at(s, 0x20)?)
    })()
    .unwrap_or_default();
    let go = (0..shnum).any(|i| {
        let name = u32_at(&sections, (i * shsize) as usize)
            .and_then(|n| names.get(n as usize..))
            .map(|n| n.split(|&c| c == 0).next().unwrap_or_default());
        matches!(name, Some(b".go.buildinfo" | b".note.go.buildid"))
    });
    if go {
        return Some(Binary::Go);
    }
    let ph = read_at(&mut f, phoff, phsize * phnum)?;
    let interp = (0..phnum).any(|i| u32_at(&ph, (i * phsize) as usize) == Some(3));
    Some(if interp {
        Binary::Dynamic
    } else {
        Binary::Static
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_read_from_proc() {
        let me = ProcFs::new().process(std::process::id()).unwrap();
        assert_eq!(me.ppid, std::os::unix::process::parent_id());
        assert_eq!(me.binary, Binary::Dynamic);
        assert!(me.start_ms.is_some());
        assert!(!me.argv.is_empty());
        assert_eq!(me.shim_loaded, Some(false));
    }
}
