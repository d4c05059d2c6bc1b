//! Cancellation by the runner. GitHub cancels a step with SIGINT, sends SIGTERM 7.5 s later
//! and kills the process 2.5 s after that. On the first signal a run starts nothing new (no
//! new wave, machine or deployment), lets the call in flight finish within [`GRACE`],
//! releases what it holds, records why it stopped (Deployment status, summary, outputs) and
//! exits with [`crate::exit::Exit::Cancelled`]. A second signal ends the process at once,
//! after releasing the leases still held.
//!
//! One [`Cancel`] per run (no global state): the signal listener is installed by the binary's
//! run, and whatever holds something that must be given back registers a cleanup.

use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long the call in flight may take after the first signal (SIGTERM comes at 7.5 s).
pub const GRACE: Duration = Duration::from_secs(5);
/// How long the cleanups of a second signal may take before the process ends anyway.
const HARD_STOP_CLEANUP: Duration = Duration::from_secs(2);

type Cleanup = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    signal: Mutex<Option<String>>,
    notify: Notify,
    next: AtomicU64,
    cleanups: Mutex<BTreeMap<u64, Cleanup>>,
}

/// The run's cancellation state. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("signal", &self.signal())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Ask the run to stop; `why` names the signal. Answers true the first time.
    pub fn trigger(&self, why: &str) -> bool {
        let first = !self.inner.cancelled.swap(true, Ordering::SeqCst);
        if first {
            *lock(&self.inner.signal) = Some(why.to_string());
            self.inner.notify.notify_waiters();
        }
        first
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// The signal that cancelled the run, if one did.
    pub fn signal(&self) -> Option<String> {
        lock(&self.inner.signal).clone()
    }

    /// Resolves once the run is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Remember something to give back if the process must end at once; answers a key for
    /// [`Cancel::forget`] once it has been given back normally.
    pub fn hold(&self, cleanup: Cleanup) -> u64 {
        let key = self.inner.next.fetch_add(1, Ordering::SeqCst);
        lock(&self.inner.cleanups).insert(key, cleanup);
        key
    }

    pub fn forget(&self, key: u64) {
        lock(&self.inner.cleanups).remove(&key);
    }

    /// Run every registered cleanup, together, for at most `within`.
    pub async fn give_back_all(&self, within: Duration) {
        let all: Vec<Cleanup> = lock(&self.inner.cleanups).values().cloned().collect();
        let runs = all.iter().map(|c| c());
        let _ = tokio::time::timeout(within, futures::future::join_all(runs)).await;
    }

    /// Listen for SIGINT and SIGTERM: the first cancels the run, the second gives back what is
    /// held and ends the process with the cancelled exit code.
    pub fn listen_for_signals(&self) {
        let cancel = self.clone();
        tokio::spawn(async move {
            let Some(mut signals) = Signals::new() else {
                return;
            };
            let mut seen = 0;
            while let Some(name) = signals.next().await {
                seen += 1;
                if seen == 1 {
                    eprintln!(
                        "stage-gate: {name} received: stopping safely (nothing new is started; \
                         a second signal stops at once)"
                    );
                    cancel.trigger(name);
                } else {
                    eprintln!(
                        "stage-gate: second signal ({name}): releasing leases and stopping now"
                    );
                    cancel.give_back_all(HARD_STOP_CLEANUP).await;
                    std::process::exit(i32::from(crate::exit::Exit::Cancelled.code()));
                }
            }
        });
    }
}

/// SIGINT and SIGTERM, registered once for the whole run.
#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> Option<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Some(Signals {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
        })
    }

    async fn next(&mut self) -> Option<&'static str> {
        tokio::select! {
            s = self.int.recv() => s.map(|_| "SIGINT"),
            s = self.term.recv() => s.map(|_| "SIGTERM"),
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Option<Signals> {
        Some(Signals)
    }

    async fn next(&mut self) -> Option<&'static str> {
        tokio::signal::ctrl_c().await.ok().map(|_| "Ctrl-C")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_trigger_wakes_waiters_and_names_the_signal() {
        let c = Cancel::new();
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.cancelled().await })
        };
        assert!(!c.is_cancelled());
        assert!(c.trigger("SIGINT"));
        assert!(!c.trigger("SIGTERM"), "only the first counts");
        waiter.await.unwrap();
        assert_eq!(c.signal().as_deref(), Some("SIGINT"));
        // Already cancelled: resolves at once.
        c.cancelled().await;
    }

    #[tokio::test]
    async fn cleanups_run_until_forgotten() {
        let c = Cancel::new();
        let count = Arc::new(AtomicU64::new(0));
        let make = |n: Arc<AtomicU64>| -> Cleanup {
            Arc::new(move || {
                let n = n.clone();
                Box::pin(async move {
                    n.fetch_add(1, Ordering::SeqCst);
                })
            })
        };
        let a = c.hold(make(count.clone()));
        c.hold(make(count.clone()));
        c.forget(a);
        c.give_back_all(Duration::from_secs(1)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}
