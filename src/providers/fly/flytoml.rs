//! The environment's fly.toml, read for a deploy (`fly.config`), and the `[deploy]` defaults
//! it gives when the stage-gate config does not set them (the config wins).

use crate::appconfig::AppConfig;
use crate::config::{FlyConfig, FlyStrategy};
use crate::providers::ProviderError;
use std::path::Path;
use std::time::Duration;

pub(crate) fn read(path: &Path, shown: &Path) -> Result<AppConfig, ProviderError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ProviderError::Config(format!(
            "cannot read the fly.toml at {}: {e} (fix `fly.config`)",
            shown.display()
        ))
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    AppConfig::parse(&text, dir)
        .map_err(|e| ProviderError::Config(format!("{}: {e}", shown.display())))
}

/// Strategy, max-unavailable and wait-timeout: the stage-gate config's when it sets them,
/// else fly.toml `[deploy]`'s, else the defaults.
pub(crate) fn deploy_defaults(
    c: &FlyConfig,
    toml: Option<&AppConfig>,
    shown: &Path,
) -> Result<(FlyStrategy, f64, Duration), ProviderError> {
    let deploy = toml.and_then(|t| t.deploy.as_ref());
    let bad = |e: String| ProviderError::Config(format!("{}: {e}", shown.display()));
    let strategy = match deploy.and_then(|d| d.strategy.as_deref()) {
        Some(s) if !c.explicit.strategy => FlyStrategy::from_name(s).ok_or_else(|| {
            bad(format!(
                "`deploy.strategy` {s:?} is not one of rolling, immediate, canary, bluegreen"
            ))
        })?,
        _ => c.strategy,
    };
    let max_unavailable = match deploy.and_then(|d| d.max_unavailable) {
        Some(m) if !c.explicit.max_unavailable => {
            if m <= 0.0 {
                return Err(bad("`deploy.max_unavailable` must be above 0".into()));
            }
            m
        }
        _ => c.max_unavailable,
    };
    let wait_timeout = match toml
        .map(AppConfig::wait_timeout)
        .transpose()
        .map_err(bad)?
        .flatten()
    {
        Some(w) if !c.explicit.wait_timeout => w,
        _ => c.wait_timeout,
    };
    Ok((strategy, max_unavailable, wait_timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FlyExplicit;

    fn config(explicit: FlyExplicit) -> FlyConfig {
        FlyConfig {
            app: None,
            config: None,
            image: None,
            strategy: FlyStrategy::Rolling,
            max_unavailable: 0.33,
            wait_timeout: Duration::from_secs(300),
            process_groups: Vec::new(),
            api_url: String::new(),
            token_env: String::new(),
            org: None,
            secrets: Vec::new(),
            explicit,
        }
    }

    #[test]
    fn fly_toml_deploy_section_applies_unless_the_config_says_otherwise() {
        let t = AppConfig::parse(
            "[deploy]\nstrategy = 'canary'\nmax_unavailable = 2\nwait_timeout = '1m'\n",
            Path::new("."),
        )
        .unwrap();
        let (s, m, w) = deploy_defaults(
            &config(FlyExplicit::default()),
            Some(&t),
            Path::new("fly.toml"),
        )
        .unwrap();
        assert_eq!(
            (s, m, w),
            (FlyStrategy::Canary, 2.0, Duration::from_secs(60))
        );
        let (s, m, w) =
            deploy_defaults(&config(FlyExplicit::ALL), Some(&t), Path::new("fly.toml")).unwrap();
        assert_eq!(
            (s, m, w),
            (FlyStrategy::Rolling, 0.33, Duration::from_secs(300))
        );
        let bad = AppConfig::parse("[deploy]\nstrategy = 'sideways'\n", Path::new(".")).unwrap();
        let e = deploy_defaults(
            &config(FlyExplicit::default()),
            Some(&bad),
            Path::new("fly.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("sideways"), "{e}");
    }

    /// Real fly.toml files (shared corpus): reading never panics, and nearly all parse.
    #[test]
    fn the_corpus_fly_tomls_parse() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/fly");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let (mut total, mut ok, mut configs) = (0, 0, 0);
        for e in entries.flatten() {
            if e.path().extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            total += 1;
            if let Ok(c) = AppConfig::parse(&text, &dir) {
                ok += 1;
                configs += c
                    .process_names()
                    .iter()
                    .filter(|g| c.machine_config(g, None).is_ok())
                    .count();
            }
        }
        assert!(total > 50, "only {total} corpus files");
        assert!(ok * 100 >= total * 90, "{ok} of {total} parsed");
        assert!(configs >= ok, "{configs} machine configs from {ok} files");
    }
}
