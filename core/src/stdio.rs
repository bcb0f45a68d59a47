//! What a child's stdin and stdout are: the stdio transport of MCP means both are a pipe or a
//! socket the client holds the other end of. Pure: the edge makes the system calls (`fstat` of
//! fd 0 and 1 in an exec hook; the file actions of a `posix_spawn` call and `fstat` of the
//! parent's descriptors they name) and this module turns their results into a `Stdio`.
//! Allocation-free and panic-free: it runs on the exec path.

/// What a descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    /// A pipe or FIFO.
    Pipe,
    /// A socket (Node's `stdio: 'pipe'` is a socketpair).
    Socket,
    /// A terminal.
    Tty,
    /// A regular file, directory or block device.
    File,
    /// A character device that is no terminal (`/dev/null`).
    CharDev,
    /// Not open.
    Closed,
    /// Could not be told.
    Unknown,
}

const S_IFMT: u32 = 0o170_000;
const S_IFIFO: u32 = 0o010_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFBLK: u32 = 0o060_000;
const S_IFREG: u32 = 0o100_000;
const S_IFSOCK: u32 = 0o140_000;

impl FdKind {
    /// From `fstat`'s `st_mode` and `st_rdev`.
    pub fn from_stat(mode: u32, rdev: u64) -> FdKind {
        match mode & S_IFMT {
            S_IFIFO => FdKind::Pipe,
            S_IFSOCK => FdKind::Socket,
            S_IFCHR if is_terminal(rdev) => FdKind::Tty,
            S_IFCHR => FdKind::CharDev,
            S_IFREG | S_IFDIR | S_IFBLK => FdKind::File,
            _ => FdKind::Unknown,
        }
    }

    /// Whether the descriptor can carry an MCP stdio transport: a pipe or socket, or unknown
    /// (the benefit of the doubt: an unreadable signal must not cost a server its block).
    pub fn may_carry_transport(self) -> bool {
        matches!(self, FdKind::Pipe | FdKind::Socket | FdKind::Unknown)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FdKind::Pipe => "pipe",
            FdKind::Socket => "socket",
            FdKind::Tty => "tty",
            FdKind::File => "file",
            FdKind::CharDev => "chardev",
            FdKind::Closed => "closed",
            FdKind::Unknown => "unknown",
        }
    }
}

/// Linux's terminal device majors (Documentation/admin-guide/devices.txt): BSD ptys (3),
/// virtual consoles and serial ports (4), `/dev/tty`, `/dev/console`, `/dev/ptmx` (5), Unix98
/// pty slaves (136-143), USB ACM and serial (166, 188), low-density serial (204), hypervisor
/// consoles (229).
fn is_terminal(rdev: u64) -> bool {
    // glibc's gnu_dev_major.
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    matches!(major, 3..=5 | 136..=143 | 166 | 188 | 204 | 229)
}

/// What a child's stdio is, found only if a rule asks (the library's costs system calls, and
/// most children are decided by their command line): a `Stdio`, or a function that finds it.
pub trait StdioSource {
    fn stdio(self) -> Stdio;
}

impl StdioSource for Stdio {
    fn stdio(self) -> Stdio {
        self
    }
}

impl<F: FnOnce() -> Stdio> StdioSource for F {
    fn stdio(self) -> Stdio {
        self()
    }
}

/// What a child's fd 0 and fd 1 are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stdio {
    pub stdin: FdKind,
    pub stdout: FdKind,
}

impl Stdio {
    /// Nothing is known.
    pub const UNKNOWN: Stdio = Stdio {
        stdin: FdKind::Unknown,
        stdout: FdKind::Unknown,
    };

    /// What an MCP client's stdio transport gives its server (the SDKs spawn with pipes): for
    /// callers that judge a command line without a real child, as the CLI's `explain` does.
    pub const PIPES: Stdio = Stdio {
        stdin: FdKind::Pipe,
        stdout: FdKind::Pipe,
    };

    /// Whether stdin and stdout can both be an MCP stdio transport.
    pub fn can_be_transport(self) -> bool {
        self.stdin.may_carry_transport() && self.stdout.may_carry_transport()
    }
}

/// One file action of a `posix_spawn` call, as the edge decoded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAction {
    Close(i32),
    Dup2 {
        from: i32,
        to: i32,
    },
    /// `fd` is opened on a path; `kind` is what the path is.
    Open {
        fd: i32,
        kind: FdKind,
    },
    /// Every descriptor from this one up is closed.
    CloseFrom(i32),
    /// An action that changes no descriptor (`chdir`, `fchdir`, `tcsetpgrp`).
    Other,
    /// An action the edge could not read: nothing can be told.
    Unknown,
}

/// Distinct descriptors a child's actions may touch before `Stdio` gives up (`Unknown`):
/// stdin, stdout, stderr and the few pipe ends a spawn moves into place and closes.
const MAX_TRACKED: usize = 16;

/// Where a child's descriptor comes from, as the actions are replayed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The parent's descriptor of that number, inherited.
    Parent(i32),
    Kind(FdKind),
}

/// The child's fd 0 and fd 1 after its file actions run in order. A descriptor no action
/// touches is inherited from the parent: `parent(fd)` says what the parent's is.
pub fn after_actions(
    actions: impl Iterator<Item = FileAction>,
    parent: impl Fn(i32) -> FdKind,
) -> Stdio {
    let mut touched: [(i32, Slot); MAX_TRACKED] = [(-1, Slot::Kind(FdKind::Unknown)); MAX_TRACKED];
    let mut n = 0;
    let mut closed_from = i32::MAX;
    let get = |touched: &[(i32, Slot)], closed_from: i32, fd: i32| match touched
        .iter()
        .find(|(f, _)| *f == fd)
    {
        Some(&(_, slot)) => slot,
        None if fd >= closed_from => Slot::Kind(FdKind::Closed),
        None => Slot::Parent(fd),
    };
    for action in actions {
        let (fd, slot) = match action {
            FileAction::Close(fd) => (fd, Slot::Kind(FdKind::Closed)),
            FileAction::Dup2 { from, to } if from == to => continue,
            FileAction::Dup2 { from, to } => {
                let slot = get(touched.get(..n).unwrap_or(&[]), closed_from, from);
                (to, slot)
            }
            FileAction::Open { fd, kind } => (fd, Slot::Kind(kind)),
            FileAction::CloseFrom(low) => {
                for (fd, slot) in touched.iter_mut().take(n) {
                    if *fd >= low {
                        *slot = Slot::Kind(FdKind::Closed);
                    }
                }
                closed_from = closed_from.min(low);
                continue;
            }
            FileAction::Other => continue,
            FileAction::Unknown => return Stdio::UNKNOWN,
        };
        let at = touched.iter().take(n).position(|(f, _)| *f == fd);
        match touched.get_mut(at.unwrap_or(n)) {
            Some(entry) => *entry = (fd, slot),
            None => return Stdio::UNKNOWN,
        }
        if at.is_none() {
            n += 1;
        }
    }
    let touched = touched.get(..n).unwrap_or(&[]);
    let kind = |fd| match get(touched, closed_from, fd) {
        Slot::Kind(k) => k,
        Slot::Parent(p) => parent(p),
    };
    Stdio {
        stdin: kind(0),
        stdout: kind(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FileAction::*;

    const PIPE_IN: i32 = 5;
    const PIPE_OUT: i32 = 6;

    /// The parent: a terminal on 0-2, pipes on 5 and 6, /dev/null on 7, nothing else.
    fn parent(fd: i32) -> FdKind {
        match fd {
            0..=2 => FdKind::Tty,
            PIPE_IN | PIPE_OUT => FdKind::Pipe,
            7 => FdKind::CharDev,
            _ => FdKind::Closed,
        }
    }

    fn stdio(actions: &[FileAction]) -> Stdio {
        after_actions(actions.iter().copied(), parent)
    }

    #[test]
    fn kinds_come_from_the_file_type_and_the_device_major() {
        let dev = |major: u64, minor: u64| (major << 8) | minor;
        assert_eq!(FdKind::from_stat(0o010_644, 0), FdKind::Pipe);
        assert_eq!(FdKind::from_stat(0o140_777, 0), FdKind::Socket);
        assert_eq!(FdKind::from_stat(0o100_644, 0), FdKind::File);
        assert_eq!(
            FdKind::from_stat(0o020_666, dev(1, 3)),
            FdKind::CharDev,
            "/dev/null"
        );
        assert_eq!(
            FdKind::from_stat(0o020_620, dev(136, 4)),
            FdKind::Tty,
            "/dev/pts/4"
        );
        assert_eq!(
            FdKind::from_stat(0o020_666, dev(5, 0)),
            FdKind::Tty,
            "/dev/tty"
        );
        // A pts minor above 255 puts bits above 32 of a glibc dev_t: still major 136.
        assert_eq!(
            FdKind::from_stat(0o020_620, dev(136, 0) | (1 << 20)),
            FdKind::Tty
        );
    }

    #[test]
    fn only_pipes_sockets_or_the_unknown_can_carry_the_transport() {
        for (k, yes) in [
            (FdKind::Pipe, true),
            (FdKind::Socket, true),
            (FdKind::Unknown, true),
            (FdKind::Tty, false),
            (FdKind::File, false),
            (FdKind::CharDev, false),
            (FdKind::Closed, false),
        ] {
            assert_eq!(k.may_carry_transport(), yes, "{k:?}");
        }
    }

    #[test]
    fn without_actions_the_child_inherits_the_parents_descriptors() {
        assert_eq!(
            stdio(&[]),
            Stdio {
                stdin: FdKind::Tty,
                stdout: FdKind::Tty
            }
        );
    }

    #[test]
    fn dup2_of_pipe_ends_onto_0_and_1_makes_a_transport() {
        // What Rust's Command and Python's subprocess (posix_spawn path) do.
        let s = stdio(&[
            Dup2 {
                from: PIPE_IN,
                to: 0,
            },
            Dup2 {
                from: PIPE_OUT,
                to: 1,
            },
            Close(PIPE_IN),
            Close(PIPE_OUT),
        ]);
        assert_eq!(s, Stdio::PIPES);
        assert!(s.can_be_transport());
    }

    #[test]
    fn only_stdout_piped_is_no_transport() {
        // subprocess.run(..., stdout=PIPE): stdin inherited (here a terminal).
        let s = stdio(&[Dup2 {
            from: PIPE_OUT,
            to: 1,
        }]);
        assert_eq!(s.stdin, FdKind::Tty);
        assert_eq!(s.stdout, FdKind::Pipe);
        assert!(!s.can_be_transport());
    }

    #[test]
    fn actions_replay_in_order_through_intermediate_descriptors() {
        // 5 -> 9, then 9 -> 0: stdin is the pipe; a later close of 9 does not change fd 0.
        let s = stdio(&[
            Dup2 {
                from: PIPE_IN,
                to: 9,
            },
            Dup2 { from: 9, to: 0 },
            Close(9),
        ]);
        assert_eq!(s.stdin, FdKind::Pipe);
        // Closed first, then a pipe dup'ed over it.
        let s = stdio(&[Close(1), Dup2 { from: 6, to: 1 }]);
        assert_eq!(s.stdout, FdKind::Pipe);
        // dup2 of a descriptor onto itself changes nothing.
        let s = stdio(&[Dup2 { from: 0, to: 0 }]);
        assert_eq!(s.stdin, FdKind::Tty);
    }

    #[test]
    fn opens_closes_and_closefrom_are_followed() {
        let s = stdio(&[
            Open {
                fd: 0,
                kind: FdKind::CharDev,
            },
            Close(1),
        ]);
        assert_eq!((s.stdin, s.stdout), (FdKind::CharDev, FdKind::Closed));
        let s = stdio(&[CloseFrom(1)]);
        assert_eq!((s.stdin, s.stdout), (FdKind::Tty, FdKind::Closed));
        let s = stdio(&[CloseFrom(0), Dup2 { from: 7, to: 0 }]);
        assert_eq!(
            s.stdin,
            FdKind::Closed,
            "7 was closed by closefrom before the dup2"
        );
        let s = stdio(&[Dup2 { from: 5, to: 0 }, CloseFrom(0)]);
        assert_eq!(s.stdin, FdKind::Closed);
    }

    #[test]
    fn an_unreadable_action_or_too_many_descriptors_tell_nothing() {
        assert_eq!(stdio(&[Other, Unknown]), Stdio::UNKNOWN);
        let many: Vec<FileAction> = (10..40).map(|fd| Dup2 { from: 5, to: fd }).collect();
        assert_eq!(stdio(&many), Stdio::UNKNOWN);
        // The same descriptor touched again and again takes one place.
        let again: Vec<FileAction> = (0..40).map(|_| Dup2 { from: 5, to: 0 }).collect();
        assert_eq!(stdio(&again).stdin, FdKind::Pipe);
    }
}
