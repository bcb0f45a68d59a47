//! The diagnosis over time: shim lines and sandbox events go in, in the order they are read,
//! findings come out. It pairs each processless `NET:FAIL` with the `NET:OPEN` for the same
//! destination just before it, reads an event logged in both files once (the OCSF copy wins:
//! it has the command line and parents), and keeps memory bounded for `--follow`.

use crate::finding::{Failure, Finding};
use crate::join::{attribute, Host, ShimIndex};
use crate::sandbox::{Activity, Event, Format};
use crate::shimlog;
use crate::verdict::{diagnose, Context, Failed};
use std::collections::{HashSet, VecDeque};

/// OPENs kept for pairing, and event keys kept for de-duplication.
const KEEP: usize = 4096;
/// A TLS handshake fails right after its CONNECT: an OPEN older than this is another connection.
const PAIR_WINDOW_MS: i64 = 60_000;

#[derive(Default)]
pub struct Diagnoser {
    pub shim: ShimIndex,
    /// Allowed OPENs, oldest first; `true` once a FAIL was paired with it.
    opens: VecDeque<(Event, bool)>,
    seen: HashSet<(i64, String, u32, String)>,
    seen_order: VecDeque<(i64, String, u32, String)>,
    /// Findings before this time are not reported (their OPENs still pair).
    pub since_ms: Option<i64>,
}

impl Diagnoser {
    /// One line of the shim's log; `false` if it is not one.
    pub fn add_shim_line(&mut self, line: &[u8]) -> bool {
        match shimlog::parse(line) {
            Some(l) => {
                self.shim.push(l);
                true
            }
            None => false,
        }
    }

    /// A batch of sandbox events (from either file, any order within the batch).
    pub fn add_events(
        &mut self,
        mut events: Vec<Event>,
        ctx: &Context,
        host: &dyn Host,
    ) -> Vec<Finding> {
        // By time; at one time, the OCSF copy of an event before its shorthand twin.
        events.sort_by_key(|e| (e.time_ms, e.format == Format::Shorthand));
        let mut out = Vec::new();
        for ev in events {
            if !self.first_time(&ev) {
                continue;
            }
            if let Some(f) = self.event(ev, ctx, host) {
                out.push(f);
            }
        }
        out
    }

    fn first_time(&mut self, ev: &Event) -> bool {
        let mut key = ev.key();
        // The shorthand logs no process for FAIL and HTTP lines; OCSF may: compare without.
        if matches!(ev.activity, Activity::Fail | Activity::Http(_)) {
            key.2 = 0;
        }
        if !self.seen.insert(key.clone()) {
            return false;
        }
        self.seen_order.push_back(key);
        if self.seen_order.len() > KEEP {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }

    fn event(&mut self, ev: Event, ctx: &Context, host: &dyn Host) -> Option<Finding> {
        let report = self.since_ms.is_none_or(|s| ev.time_ms >= s);
        let failure = match (&ev.activity, ev.allowed) {
            (Activity::Open, Some(false)) => Failure::Denied(None),
            (Activity::Open, _) => {
                self.opens.push_back((ev, false));
                if self.opens.len() > KEEP {
                    self.opens.pop_front();
                }
                return None;
            }
            (Activity::Http(m), Some(false)) => Failure::Denied(Some(m.clone())),
            (Activity::Http(_), _) => return None,
            (Activity::Refuse, _) => Failure::DirectConnection,
            (Activity::Fail, _) => Failure::TlsHandshake,
        };
        // The process: the event's own, else the OPEN it belongs to.
        let (process, paired) = match (&ev.process, &failure) {
            (Some(p), _) => (Some(p.clone()), None),
            (None, Failure::TlsHandshake) => match self.pair(&ev, true) {
                Some((p, ms)) => (
                    Some(p),
                    Some(format!("the proxy logged this failure without a process; it is paired with the OPEN for {} {ms} ms before it", ev.dest)),
                ),
                None => (None, None),
            },
            (None, _) => match self.pair(&ev, false) {
                Some((p, _)) => (
                    Some(p),
                    Some(format!("the process is the one whose OPEN for {} came last before it", ev.dest)),
                ),
                None => (None, None),
            },
        };
        if !report {
            return None;
        }
        let failed = Failed {
            time_ms: ev.time_ms,
            failure,
            dest: &ev.dest,
            process: process.as_ref(),
            policy: ev.policy.as_deref(),
            engine: ev.engine.as_deref(),
            paired,
        };
        let att = match &process {
            Some(p) => attribute(&self.shim, p, ev.time_ms, host),
            None => crate::join::Attribution {
                line: None,
                join: crate::join::Join::None,
                live: None,
                parent: None,
                chain: Vec::new(),
            },
        };
        let mut f = diagnose(&failed, &att, ctx);
        if let (Some(msg), Failure::TlsHandshake) = (&ev.message, &f.failed) {
            f.detail = format!("{} (the proxy: {msg})", f.detail);
        }
        Some(f)
    }

    /// The process of the latest OPEN for the same destination before `ev` (within the
    /// window for a FAIL, which consumes it), and how long before.
    fn pair(&mut self, ev: &Event, consume: bool) -> Option<(crate::sandbox::Process, i64)> {
        let (open, used) = self.opens.iter_mut().rev().find(|(o, used)| {
            let same = if ev.dest.is_empty() {
                true
            } else {
                o.dest == ev.dest
            };
            let before = o.time_ms <= ev.time_ms;
            let window = !consume || ev.time_ms - o.time_ms <= PAIR_WINDOW_MS;
            same && before && window && !(consume && *used)
        })?;
        if consume {
            *used = true;
        }
        Some((open.process.clone()?, ev.time_ms - open.time_ms))
    }
}
