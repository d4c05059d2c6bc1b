//! Machine leases: acquire with a bounded retry on 409, keep alive while held, and ALWAYS
//! release — explicitly on success or failure, and from `Drop` when the future holding the
//! guard is cancelled (a sibling machine failed, or the run was interrupted).

use super::api::{is_conflict, Api};
use super::Tuning;
use crate::http::retryable_status;
use crate::providers::ProviderError;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Past a lease's expiry before trying again (clocks differ a little).
const LEASE_SLACK: Duration = Duration::from_millis(1500);

/// What a lease release may take after the deploy's deadline passed.
const RELEASE_GRACE: Duration = Duration::from_secs(10);

pub(crate) struct LeaseGuard {
    api: Api,
    id: String,
    nonce: String,
    refresher: Option<JoinHandle<()>>,
    released: bool,
    /// The release registered with the run's cancellation, for a second signal.
    held: u64,
}

fn is_transient_status(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Http(h) if h.status().is_some_and(retryable_status))
}

impl LeaseGuard {
    /// Acquire the lease of machine `id`. A lease held by someone else (409) and a 5xx/429
    /// answer are retried with backoff a bounded number of times, then reported with the API's
    /// own message.
    pub(crate) async fn acquire(
        api: &Api,
        id: &str,
        tuning: &Tuning,
        console: &crate::report::Console,
    ) -> Result<LeaseGuard, ProviderError> {
        let mut delay = tuning.lease_retry;
        let mut attempt = 1;
        // No pause between attempts may outlast the API's deadline.
        let fits = |delay: Duration| api.time_left().is_none_or(|left| left > delay);
        let nonce = loop {
            match api.acquire_lease(id, tuning.lease_ttl).await {
                Ok(nonce) => break nonce,
                // Held by a known holder (a killed run's lease expires on Fly's side): wait
                // for it within the deadline, saying whose it is, or fail at once if it
                // outlasts the deadline.
                Err(e) if is_conflict(&e) => match (api.lease_holder(id).await, api.time_left()) {
                    (Some(h), Some(left)) if h.left() + LEASE_SLACK < left => {
                        console.info(format!(
                            "machine {id} is leased by {}; waiting {}s for it to expire",
                            h.describe(),
                            h.left().as_secs() + 1
                        ));
                        tokio::time::sleep(h.left() + LEASE_SLACK).await;
                        attempt += 1;
                    }
                    (Some(h), Some(_)) => {
                        return Err(ProviderError::Failed {
                            message: format!(
                                "machine {id} is leased by {}, past this deploy's deadline \
                                 (another deploy or a `fly` command is running?); wait for it \
                                 or release it with `fly machine leases clear {id}`",
                                h.describe()
                            ),
                            rolled_back: None,
                            log_excerpt: None,
                        })
                    }
                    _ if attempt < tuning.lease_attempts && fits(delay) => {
                        attempt += 1;
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(8));
                    }
                    _ => {
                        return Err(ProviderError::Failed {
                            message: format!(
                                "machine {id} is leased by someone else after {attempt} attempts \
                                 (another deploy or a `fly` command is running?): {e}"
                            ),
                            rolled_back: None,
                            log_excerpt: None,
                        })
                    }
                },
                // A 5xx/429 answer most likely granted nothing (the client does not repeat a
                // non-idempotent POST by itself); if it did, the 409 branch above copes.
                Err(e)
                    if is_transient_status(&e)
                        && attempt < tuning.lease_attempts
                        && fits(delay) =>
                {
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                }
                Err(e) => return Err(e),
            }
        };
        let refresher = {
            let (api, id, nonce, ttl) =
                (api.clone(), id.to_string(), nonce.clone(), tuning.lease_ttl);
            // Refresh at half the TTL so a long wait never outlives the lease.
            tokio::spawn(async move {
                let every = Duration::from_millis(ttl * 500);
                loop {
                    tokio::time::sleep(every).await;
                    let bounded = api.for_cleanup(every);
                    let _ = bounded.refresh_lease(&id, &nonce, ttl).await;
                }
            })
        };
        let held = {
            let (api, id, nonce) = (api.clone(), id.to_string(), nonce.clone());
            api.cancel.clone().hold(std::sync::Arc::new(move || {
                let (api, id, nonce) = (api.for_cleanup(RELEASE_GRACE), id.clone(), nonce.clone());
                Box::pin(async move {
                    let _ = api.release_lease(&id, &nonce).await;
                })
            }))
        };
        Ok(LeaseGuard {
            // Bounded anew at release time, whatever the deploy's deadline.
            api: api.clone(),
            id: id.to_string(),
            nonce,
            refresher: Some(refresher),
            released: false,
            held,
        })
    }

    pub(crate) fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Release now. A failed release only costs the lease's TTL, so it warns, never fails.
    pub(crate) async fn release(mut self) -> Result<(), ProviderError> {
        self.released = true;
        if let Some(r) = self.refresher.take() {
            r.abort();
        }
        self.api.cancel.forget(self.held);
        // Bounded anew: a release must happen even when the deploy ran out of time.
        let api = self.api.for_cleanup(RELEASE_GRACE);
        api.release_lease(&self.id, &self.nonce).await
    }

    /// The machine is gone (destroyed): there is nothing left to release.
    pub(crate) fn forget(mut self) {
        self.released = true;
        if let Some(r) = self.refresher.take() {
            r.abort();
        }
        self.api.cancel.forget(self.held);
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(r) = self.refresher.take() {
            r.abort();
        }
        if self.released {
            return;
        }
        // Cancelled mid-flight: release in the background, on the runtime still running us.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let api = self.api.for_cleanup(RELEASE_GRACE);
            let (id, nonce, held) = (self.id.clone(), self.nonce.clone(), self.held);
            rt.spawn(async move {
                let _ = api.release_lease(&id, &nonce).await;
                // Until here a second signal (or the end of a cancelled run) releases it.
                api.cancel.forget(held);
            });
        }
    }
}
