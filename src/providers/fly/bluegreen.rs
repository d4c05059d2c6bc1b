//! The `bluegreen` strategy (flyctl strategy_bluegreen.go): create one unrouted green machine
//! per blue one, wait until green is started and healthy, route green (uncordon), then cordon,
//! stop and destroy blue. Until blue is cordoned a failure destroys green and leaves blue
//! serving; blue leases are held throughout and always released.

use super::api::{Api, Machine};
use super::lease::LeaseGuard;
use super::rollout::{failed, now_ms, Rollout, Updated};
use crate::providers::ProviderError;
use std::sync::Mutex;

/// Blue id → green machine.
pub(crate) struct Swap {
    pub blue: Machine,
    pub green: Machine,
}

pub(crate) async fn deploy(
    r: &Rollout<'_>,
    blues: &[Machine],
) -> Result<Vec<Updated>, ProviderError> {
    if !blues.iter().any(Machine::has_checks) {
        return Err(ProviderError::Config(
            "the bluegreen strategy needs at least one health check (a `[[http_service.checks]]` \
             or `[checks]` in fly.toml): without one, green cannot be told healthy"
                .into(),
        ));
    }
    let mut leases = Vec::new();
    for b in blues {
        match LeaseGuard::acquire(r.api, &b.id, r.tuning, r.console).await {
            Ok(l) => leases.push(l),
            Err(e) => {
                release_all(r, leases).await;
                return Err(e);
            }
        }
    }
    let greens: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let result = launch_greens(r, blues, &greens).await;
    let swaps = match result {
        Ok(s) => s,
        Err(e) => {
            let created = greens.lock().map(|g| g.clone()).unwrap_or_default();
            let cleaned = destroy_greens(r.api, &created).await;
            release_all(r, leases).await;
            return Err(with_cleanup(e, &created, cleaned));
        }
    };
    // Green is healthy and routed; from here on blue goes away.
    let mut updated = Vec::new();
    let mut problems = Vec::new();
    for (swap, lease) in swaps.iter().zip(leases) {
        match retire_blue(r.api, &swap.blue, lease, r).await {
            Ok(()) => {}
            Err(e) => problems.push(format!("{}: {e}", swap.blue.id)),
        }
        updated.push(Updated {
            id: swap.green.id.clone(),
            region: swap.green.region.clone(),
            old_version: format!("{}@{}", swap.blue.id, swap.blue.version()),
            new_version: swap.green.version().to_string(),
        });
    }
    if !problems.is_empty() {
        return Err(failed(format!(
            "green machines are serving {}, but retiring blue failed: {}",
            r.image,
            problems.join("; ")
        )));
    }
    Ok(updated)
}

async fn launch_greens(
    r: &Rollout<'_>,
    blues: &[Machine],
    greens: &Mutex<Vec<String>>,
) -> Result<Vec<Swap>, ProviderError> {
    // Created one after another and recorded at once, so a failure can never leave a green
    // machine behind that we did not know about; then verified all together.
    let mut created = Vec::new();
    for blue in blues {
        let mut config = r.desired.config_for(&blue.config)?;
        // Tags a green machine so a re-run or a human can tell what created it.
        config["metadata"]["stage_gate_bluegreen_of"] = blue.id.clone().into();
        let since = now_ms();
        let green = r.api.create_unrouted(&config, &blue.region).await?;
        if let Ok(mut g) = greens.lock() {
            g.push(green.id.clone());
        }
        r.desired.observe(&green)?;
        created.push((blue.clone(), green, since));
    }
    let launches = created.into_iter().map(|(blue, green, since)| async move {
        r.verify(&green.id, green.version(), since).await?;
        Ok::<_, ProviderError>((blue, green))
    });
    let launched = futures::future::try_join_all(launches).await?;
    let mut swaps = Vec::new();
    for (blue, green) in launched {
        r.api.action(&green.id, "uncordon", None).await?;
        swaps.push(Swap { blue, green });
    }
    Ok(swaps)
}

async fn retire_blue(
    api: &Api,
    blue: &Machine,
    lease: LeaseGuard,
    r: &Rollout<'_>,
) -> Result<(), ProviderError> {
    let nonce = lease.nonce().to_string();
    let steps = async {
        api.action(&blue.id, "cordon", Some(&nonce)).await?;
        if blue.is_running() {
            api.action(&blue.id, "stop", Some(&nonce)).await?;
            let deadline = std::time::Instant::now() + r.wait_timeout;
            api.wait(
                &blue.id,
                "stopped",
                Some(blue.version()),
                deadline,
                r.tuning.poll,
            )
            .await?;
        }
        api.destroy(&blue.id, Some(&nonce)).await
    }
    .await;
    match steps {
        Ok(()) => {
            lease.forget();
            Ok(())
        }
        Err(e) => {
            let _ = lease.release().await;
            Err(e)
        }
    }
}

async fn release_all(r: &Rollout<'_>, leases: Vec<LeaseGuard>) {
    for l in leases {
        if let Err(e) = l.release().await {
            r.console.warn(format!("could not release a lease: {e}"));
        }
    }
}

/// Destroy green machines after a failure; answers the ids destroyed.
async fn destroy_greens(api: &Api, ids: &[String]) -> Vec<String> {
    // Cleanup runs even when the deploy's deadline is what failed it: bounded anew.
    let api = api.for_cleanup(std::time::Duration::from_secs(30));
    let mut done = Vec::new();
    for id in ids {
        if api.destroy(id, None).await.is_ok() {
            done.push(id.clone());
        }
    }
    done
}

fn with_cleanup(e: ProviderError, created: &[String], destroyed: Vec<String>) -> ProviderError {
    let message = e.to_string();
    let note = if created.is_empty() {
        None
    } else if destroyed.len() == created.len() {
        Some(crate::providers::Restore::Restored {
            note: format!(
                "destroyed the green machines ({}); blue kept serving",
                destroyed.join(", ")
            ),
        })
    } else {
        let left: Vec<String> = created
            .iter()
            .filter(|c| !destroyed.contains(c))
            .cloned()
            .collect();
        Some(crate::providers::Restore::NotRestored {
            note: format!(
                "destroyed {} green machines; {} {} green machine(s) remain and need `fly machine destroy --force`: {left:?}",
                destroyed.len(),
                crate::providers::NOT_RESTORED,
                left.len()
            ),
            resources: left,
        })
    };
    match e {
        ProviderError::Failed { log_excerpt, .. } => ProviderError::Failed {
            message,
            rolled_back: note,
            log_excerpt,
        },
        other => match note {
            Some(n) => ProviderError::Failed {
                message: other.to_string(),
                rolled_back: Some(n),
                log_excerpt: None,
            },
            None => other,
        },
    }
}
