//! Backstop for a provider whose Terraform, its parent, died without
//! stopping it (SIGKILL, OOM kill, a CI runner cancelling a job).
//!
//! tfplugin notices the re-parenting within 100 ms, removes its socket and
//! returns from `serve` without waiting for calls still running, so the
//! process normally ends there. This watcher covers a runtime too busy or
//! stuck to do that.
//!
//! Guarantees:
//! - Within [`BACKSTOP`] (+ [`CHECK_INTERVAL`]) of being re-parented the
//!   process exits with status 1, abandoning whatever it was doing: no
//!   cloud call is started after that, so a provider of a dead Terraform
//!   never races the next apply. Nothing is lost: every object berth
//!   creates is tagged, and the next apply adopts or removes what the
//!   interrupted one left.
//! - It is a plain thread, so a busy or stuck async runtime cannot delay it.
//!
//! A graceful stop is not wanted here: it would run rollbacks (DNS changes)
//! that nobody will see the result of, while the next apply may already be
//! running.

use std::time::Duration;

/// How often the parent is checked.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How long tfplugin's own, clean shutdown gets before the exit.
pub const BACKSTOP: Duration = Duration::from_millis(500);

/// True when the process now has another parent than the one it started
/// with (the original one died: the kernel re-parents to init or a
/// subreaper).
pub fn orphaned(original: u32, now: u32) -> bool {
    original != now
}

/// Starts the watcher thread; `exit` runs once the parent is gone.
///
/// # Errors
/// When the thread cannot be spawned.
pub fn watch(exit: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let original = std::os::unix::process::parent_id();
    std::thread::Builder::new()
        .name("berth-parent-watch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CHECK_INTERVAL);
                if orphaned(original, std::os::unix::process::parent_id()) {
                    std::thread::sleep(BACKSTOP);
                    exit();
                    return;
                }
            }
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_parent_means_terraform_is_gone() {
        assert!(!orphaned(4242, 4242));
        assert!(orphaned(4242, 1));
    }
}
