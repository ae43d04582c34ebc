//! The process's limit of open files. Each connection holds a descriptor, and a soft limit of
//! 1024 (a common default) is what a flood of slow connections exhausts first: then `accept()`
//! fails for everyone. At start the soft limit is raised to the hard limit, the most the process
//! may hold; `/health` reports it.

use std::sync::OnceLock;

use serde::Serialize;
use utoipa::ToSchema;

/// The limit of open files, after the raise at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct OpenFiles {
    /// The soft limit the process runs with.
    pub limit: u64,
    /// The hard limit, the most the soft limit could be raised to.
    pub hard_limit: u64,
    /// The soft limit the process was started with.
    pub started_with: u64,
}

static RAISED: OnceLock<OpenFiles> = OnceLock::new();

/// The ceiling used when the hard limit is "unlimited", which no kernel accepts as a soft limit
/// for descriptors.
const UNLIMITED_CEILING: u64 = 1 << 20;

/// Raises the soft limit of open files to the hard limit, once; returns the limits then in force.
pub fn raise_to_hard_limit() -> std::io::Result<OpenFiles> {
    if let Some(raised) = RAISED.get() {
        return Ok(*raised);
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let started_with = limit.rlim_cur;
    let hard = if limit.rlim_max == libc::RLIM_INFINITY {
        UNLIMITED_CEILING
    } else {
        limit.rlim_max
    };
    if limit.rlim_cur < hard {
        let raised = libc::rlimit {
            rlim_cur: hard,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let open_files = OpenFiles {
        limit: hard.max(started_with),
        hard_limit: limit.rlim_max,
        started_with,
    };
    Ok(*RAISED.get_or_init(|| open_files))
}

/// The limits in force, once [`raise_to_hard_limit`] has run.
pub fn current() -> Option<OpenFiles> {
    RAISED.get().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let raised = raise_to_hard_limit().unwrap();
        assert!(raised.limit >= raised.started_with);
        let mut now = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) }, 0);
        assert_eq!(now.rlim_cur, raised.limit);
        assert_eq!(current(), Some(raised));
    }
}
