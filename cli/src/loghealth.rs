//! Whether the shim's log file can take this user's lines, and what it says about lines lost
//! (issue 7: loss must be visible). A line the shim cannot write is dropped and counted; the
//! next line written carries `dropped`. Read with `lstat`: the log path is never a symlink.

use crate::log::for_each_line;
use serde_json::{json, Value};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

pub struct Health {
    path: String,
    /// `None`: the path does not exist.
    meta: Option<Meta>,
    /// The error, when `lstat` failed otherwise than "not found".
    error: Option<String>,
    uid: u32,
    /// Why this user's lines are dropped, or `None` when they can be written.
    dropping: Option<String>,
    summary: Option<Result<Summary, String>>,
}

struct Meta {
    kind: &'static str,
    owner: u32,
    mode: u32,
}

#[derive(Default)]
struct Summary {
    lines: u64,
    objects: u64,
    last_ts: Option<String>,
    dropped: u64,
    warnings: u64,
}

fn kind(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_file() {
        "file"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "device"
    } else {
        "other"
    }
}

/// Whether this process may write `path` (access(2), real uid: the user running the CLI).
fn can_write(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

pub fn check(path: &Path) -> Health {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let (meta, error) = match std::fs::symlink_metadata(path) {
        Ok(m) => (
            Some(Meta {
                kind: kind(m.file_type()),
                owner: m.uid(),
                mode: m.mode() & 0o7777,
            }),
            None,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
        Err(e) => (None, Some(e.to_string())),
    };
    let dropping = match (&meta, &error) {
        (_, Some(e)) => Some(format!("the path cannot be examined ({e})")),
        (None, None) => {
            let dir = path.parent().unwrap_or(Path::new("/"));
            (!can_write(dir)).then(|| {
                format!(
                    "it does not exist and this user (uid {uid}) cannot create it in {}",
                    dir.display()
                )
            })
        }
        (Some(m), None) if m.kind != "file" => Some(format!(
            "it is a {}, not a regular file: the shim writes its lines only to a regular file",
            m.kind
        )),
        (Some(m), None) => (!can_write(path)).then(|| {
            format!(
                "this user (uid {uid}) cannot append to it (owner uid {}, mode {:04o})",
                m.owner, m.mode
            )
        }),
    };
    let summary = meta
        .as_ref()
        .filter(|m| m.kind == "file")
        .map(|_| summarise(path));
    Health {
        path: path.display().to_string(),
        meta,
        error,
        uid,
        dropping,
        summary,
    }
}

fn summarise(path: &Path) -> Result<Summary, String> {
    let mut s = Summary::default();
    for_each_line(path, |v| {
        s.lines += 1;
        let Some(v) = v else { return };
        s.objects += 1;
        if let Some(ts) = v.get("ts").and_then(Value::as_str) {
            s.last_ts = Some(ts.to_string());
        }
        s.dropped += v.get("dropped").and_then(Value::as_u64).unwrap_or(0);
        s.warnings += u64::from(v.get("event").and_then(Value::as_str) == Some("warn"));
    })?;
    Ok(s)
}

impl Health {
    /// `log-file:` and `log-lines:` lines, one fact per `key=value`, for grep.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.meta, &self.error) {
            (Some(m), _) => out.push(format!(
                "log-file: exists=yes type={} owner={} mode={:04o} writable={}",
                m.kind,
                m.owner,
                m.mode,
                if self.dropping.is_none() { "yes" } else { "no" }
            )),
            (None, Some(e)) => out.push(format!("log-file: exists=unknown error={e:?}")),
            (None, None) => out.push(format!(
                "log-file: exists=no writable={} (the first line creates it)",
                if self.dropping.is_none() { "yes" } else { "no" }
            )),
        }
        if let Some(why) = &self.dropping {
            out.push(format!("log-file: DROPPING LINES: {why}"));
        }
        match &self.summary {
            Some(Ok(s)) => out.push(format!(
                "log-lines: lines={} json={} last={} dropped={} warnings={}",
                s.lines,
                s.objects,
                s.last_ts.as_deref().unwrap_or("-"),
                s.dropped,
                s.warnings
            )),
            Some(Err(e)) => out.push(format!("log-lines: unreadable ({e})")),
            None => {}
        }
        if let Some(Ok(s)) = &self.summary {
            if s.dropped > 0 {
                out.push(format!(
                    "log-lines: writers reported {} lines they could not write (the `dropped` field)",
                    s.dropped
                ));
            }
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "path": self.path,
            "exists": match (&self.meta, &self.error) {
                (Some(_), _) => json!(true),
                (None, Some(_)) => Value::Null,
                (None, None) => json!(false),
            },
            "uid": self.uid,
            "writable": self.dropping.is_none(),
            "dropping": self.dropping,
        });
        let Some(obj) = v.as_object_mut() else {
            return v;
        };
        if let Some(m) = &self.meta {
            obj.insert("type".into(), json!(m.kind));
            obj.insert("owner".into(), json!(m.owner));
            obj.insert("mode".into(), json!(format!("{:04o}", m.mode)));
        }
        if let Some(e) = &self.error {
            obj.insert("error".into(), json!(e));
        }
        match &self.summary {
            Some(Ok(s)) => {
                obj.insert("lines".into(), json!(s.lines));
                obj.insert("json_lines".into(), json!(s.objects));
                obj.insert("last_ts".into(), json!(s.last_ts));
                obj.insert("dropped".into(), json!(s.dropped));
                obj.insert("warnings".into(), json!(s.warnings));
            }
            Some(Err(e)) => {
                obj.insert("unreadable".into(), json!(e));
            }
            None => {}
        }
        v
    }
}
