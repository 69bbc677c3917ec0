//! Noticing that Terraform, the plugin's parent, died without stopping it
//! (SIGKILL, OOM kill, a CI runner cancelling a job), and the backstop
//! behind that.
//!
//! [`serve`](super::serve) checks every [`CHECK_INTERVAL`] on its runtime
//! and, once re-parented, shuts down with no grace: its socket is removed
//! and calls still running are abandoned. [`Backstop`] covers a runtime too
//! busy or stuck to get there.
//!
//! Guarantees:
//! - Within [`BACKSTOP`] (+ [`CHECK_INTERVAL`]) of being re-parented the
//!   process has exited (status 1 when the backstop ends it): a plugin of a
//!   dead Terraform never starts work that races the next run.
//! - The backstop is a plain thread, so a busy or stuck async runtime
//!   cannot delay it; it ends when `serve` returns while Terraform lives.
//!
//! A graceful stop is not wanted here: it would run work (a provider's
//! rollbacks) that nobody will see the result of, while the next run may
//! already be going.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the parent is checked.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How long the clean, graceless shutdown gets before the backstop exits.
pub(crate) const BACKSTOP: Duration = Duration::from_millis(500);

/// True when the process now has another parent than the one it started
/// with (the original one died: the kernel re-parents to init or a
/// subreaper).
pub(crate) fn orphaned(original: u32, now: u32) -> bool {
    original != now
}

/// The backstop thread; dropping it (when `serve` returns) lets the thread
/// end unless the parent is already gone.
pub(crate) struct Backstop {
    served: Arc<AtomicBool>,
}

impl Backstop {
    /// Starts watching the current parent. A thread that cannot be spawned
    /// is logged: the runtime's own check still works.
    pub(crate) fn start() -> Backstop {
        let served = Arc::new(AtomicBool::new(false));
        let done = served.clone();
        let original = std::os::unix::process::parent_id();
        let spawned = std::thread::Builder::new()
            .name("plugin-parent-watch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(CHECK_INTERVAL);
                    if orphaned(original, std::os::unix::process::parent_id()) {
                        std::thread::sleep(BACKSTOP);
                        tracing::warn!(
                            "Terraform exited without stopping the plugin, which did not stop by itself; exiting now"
                        );
                        std::process::exit(1);
                    }
                    if done.load(Ordering::SeqCst) {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the parent watch thread");
        }
        Backstop { served }
    }
}

impl Drop for Backstop {
    fn drop(&mut self) {
        self.served.store(true, Ordering::SeqCst);
    }
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
