//! `stage-gate health --env ENV [--app APP] [--url U…] [--version V] [--rollback]`: run the
//! health gate of every target of ENV (or of ad-hoc URLs with the default schedule) and
//! report the verdict; with `--rollback`, return each target whose gate failed to its
//! previous successful deployment (what `stage-gate rollback` does). Exit 4 when any gate
//! fails; the summary table, the JSON document and the `verdict` output are written either
//! way.

use crate::cli::HealthArgs;
use crate::config::{HealthConfig, Probe};
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::github::GitHub;
use crate::health::{self, GateReport, Vars, Verdict};
use crate::inputs::pick;
use crate::report::results::health::{worst, HealthDryRun, HealthGates, HealthResult};
use crate::report::Report;

pub async fn run(ctx: &Ctx, args: &HealthArgs) -> Result<Report, Failure> {
    let env = pick(args.environment.clone(), &ctx.inputs, "environment");
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    if let Some(e) = env.as_deref().filter(|_| args.urls.is_empty()) {
        crate::commands::deploy::not_per_pull_request(ctx, e)?;
    }
    if args.rollback && !args.urls.is_empty() {
        return Err(Failure::input(
            "--rollback returns the environment's targets to their previous deployment, and \
             --url probes belong to no target: use --env ENV (its configured probes) without --url",
        ));
    }
    // Asked for (flag or input), the version must be checked; from the release tag, it is
    // there for the probes that use it.
    let asked = pick(args.version.clone(), &ctx.inputs, "version");
    let version = asked.clone().or_else(|| version_of_tag(ctx));
    let sha = ctx.head_sha();
    let mut gates = gates(ctx, env.as_deref(), app.as_deref(), &args.urls)?;
    if let Some(v) = &asked {
        check_version(&mut gates, v, !args.urls.is_empty())?;
    }

    let vars_of = |app: &str, env: &str| Vars {
        app: app.to_string(),
        env: env.to_string(),
        version: version.clone(),
        sha: sha.clone(),
    };
    if ctx.dry_run {
        return dry_run(&gates, &vars_of, args.rollback);
    }
    let _group = ctx.console.group(format!(
        "health gate: {}",
        gates
            .iter()
            .map(|(app, env, cfg)| format!(
                "{} ({} probe(s))",
                where_probed(app, env, cfg),
                cfg.probes.len()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let runs = gates.iter().map(|(app, env, cfg)| {
        let vars = vars_of(app, env);
        async move { health::gate(cfg, &vars, ctx.into()).await }
    });
    // A cancelled step stops probing at once (the requests in flight are dropped): exit 5,
    // as a deploy cancelled during its gate does.
    let reports = tokio::select! {
        done = futures::future::join_all(runs) => done,
        _ = ctx.cancel.cancelled() => return Err(cancelled(ctx, &gates)),
    }
    .into_iter()
    .collect::<Result<Vec<GateReport>, _>>()?;
    let rollback = match args.rollback {
        true => roll_back_failed(ctx, &reports).await,
        false => None,
    };
    Ok(render(env.as_deref(), reports, rollback))
}

/// `--version V` does what it says: every gate checks it. A configured gate must use
/// `{version}` somewhere (else the flag would be silently ignored: refused, with the fix);
/// an ad-hoc `--url` probe, which has no assertions, must find it in the body.
fn check_version(
    gates: &mut [(String, String, HealthConfig)],
    version: &str,
    ad_hoc: bool,
) -> Result<(), Failure> {
    for (app, env, cfg) in gates.iter_mut() {
        if ad_hoc {
            for p in &mut cfg.probes {
                p.body_regex = Some(reports_version(version));
            }
        } else if !cfg.probes.iter().any(uses_version) {
            return Err(Failure::input(format!(
                "--version {version} is checked by no probe of {}: a probe checks it with \
                 `{{version}}` in its url, a header or a `json` assertion (e.g. `json: \
                 {{\"$.version\": \"{{version}}\"}}`); add one to the config, or leave --version out",
                where_probed(app, env, cfg)
            )));
        }
    }
    Ok(())
}

fn uses_version(p: &Probe) -> bool {
    let has = |s: &str| s.contains("{version}");
    has(&p.url)
        || p.headers.iter().any(|(_, v)| has(v))
        || p.json.iter().any(|(_, v)| v.as_str().is_some_and(has))
}

/// A body that names `version` as a whole (`"version":"1.2.3"`, `v1.2.3`), not as part of
/// another one (`11.2.3`, `1.2.30`, `1.2.3-rc.1`).
fn reports_version(version: &str) -> String {
    format!(
        r"(?:^|[^0-9.]){}(?:$|[^0-9A-Za-z.+-])",
        regex::escape(version)
    )
}

/// `--rollback`: each target whose gate failed goes back to its previous successful
/// deployment, through the provider, as `stage-gate rollback` does. The gate's failure still
/// decides the exit (4); the `rollback` output says whether every target was restored.
/// None: no gate failed.
async fn roll_back_failed(ctx: &Ctx, reports: &[GateReport]) -> Option<(Vec<RolledBackRow>, bool)> {
    let gh = GitHub::from_ctx(ctx).ok();
    let mut rows = Vec::new();
    let mut restored_all = true;
    for r in reports.iter().filter(|r| !r.passed()) {
        let Some(target) = ctx
            .config
            .apps
            .get(&r.app)
            .and_then(|a| a.environments.get(&r.env))
        else {
            continue;
        };
        match crate::deploy::rollback::target(ctx, gh.as_ref(), target, None, false).await {
            Ok(done) => rows.push((done.app, done.to, done.restored)),
            Err(f) => {
                ctx.console.error(format!(
                    "{}: rollback after the failed health gate FAILED: {f}",
                    r.app
                ));
                restored_all = false;
                rows.push((
                    r.app.clone(),
                    String::new(),
                    format!("{} ({f})", crate::providers::NOT_RESTORED),
                ));
            }
        }
    }
    (!rows.is_empty()).then_some((rows, restored_all))
}

/// (app, to, restored): one target rolled back after its failed gate.
type RolledBackRow = (String, String, String);

/// The runner cancelled the step mid-gate: nothing is proven either way.
fn cancelled(ctx: &Ctx, gates: &[(String, String, HealthConfig)]) -> Failure {
    let signal = ctx.cancel.signal().unwrap_or_else(|| "a signal".into());
    Failure::new(
        Exit::Cancelled,
        anyhow::anyhow!(
            "cancelled by {signal} during the health gate of {}: not proven healthy",
            gates
                .iter()
                .map(|(app, env, cfg)| where_probed(app, env, cfg))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// How a gate is named on the console: as its report will name it.
fn where_probed(app: &str, env: &str, cfg: &HealthConfig) -> String {
    let urls: Vec<&str> = cfg.probes.iter().map(|p| p.url.as_str()).collect();
    health::verdict::named(app, env, &urls)
}

/// (app, env, health config) for each gate to run.
fn gates(
    ctx: &Ctx,
    env: Option<&str>,
    app: Option<&str>,
    urls: &[String],
) -> Result<Vec<(String, String, HealthConfig)>, Failure> {
    if !urls.is_empty() {
        // Ad-hoc URLs get the default schedule: they are not tied to any configured target.
        let cfg = HealthConfig {
            probes: urls.iter().map(|u| health::default_probe(u)).collect(),
            ..HealthConfig::default()
        };
        // Empty when not given: the report then names the URLs.
        return Ok(vec![(
            app.unwrap_or_default().to_string(),
            env.unwrap_or_default().to_string(),
            cfg,
        )]);
    }
    let env = env.ok_or_else(|| {
        Failure::input(
            "health needs an environment (--env ENV or the `environment` input) or --url",
        )
    })?;
    let targets = ctx.config.targets(env, app);
    if targets.is_empty() {
        return Err(Failure::input(match app {
            Some(app) => format!("app `{app}` has no environment `{env}` in the config"),
            None => format!("no app has an environment `{env}` in the config"),
        }));
    }
    let gates: Vec<_> = targets
        .into_iter()
        .map(|t| (t.app.clone(), t.env.clone(), health::config_for(t)))
        .filter(|(_, _, cfg)| !cfg.probes.is_empty())
        .collect();
    if gates.is_empty() {
        return Err(Failure::input(format!(
            "nothing to probe in `{env}`: no target has `health.probes` or a `url`; \
             add them to the config or pass --url"
        )));
    }
    Ok(gates)
}

/// The version in a release tag (`v1.2.3` → `1.2.3`), when the run is for one.
fn version_of_tag(ctx: &Ctx) -> Option<String> {
    let tag = ctx.github.tag()?;
    let bare = tag.strip_prefix('v').unwrap_or(tag);
    semver::Version::parse(bare).ok().map(|_| bare.to_string())
}

fn render(
    env: Option<&str>,
    reports: Vec<GateReport>,
    rollback: Option<(Vec<RolledBackRow>, bool)>,
) -> Report {
    let verdict = worst(&reports);
    let (rollback, restored_all) = match rollback {
        Some((rows, all)) => (Some(rows), all),
        None => (None, true),
    };
    let mut report = Report::of(&HealthResult::Gates(HealthGates {
        verdict,
        gates: reports,
        rollback,
        restored_all,
        environment: env.map(str::to_string),
    }));
    if verdict != Verdict::Healthy {
        report.exit = Some(Exit::DeployFailed);
    }
    report
}

fn dry_run(
    gates: &[(String, String, HealthConfig)],
    vars_of: &dyn Fn(&str, &str) -> Vars,
    rollback: bool,
) -> Result<Report, Failure> {
    let mut lines = Vec::new();
    for (app, env, cfg) in gates {
        let vars = vars_of(app, env);
        for p in &cfg.probes {
            let url = vars.expand(&p.url, &format!("the URL `{}`", p.url))?;
            // Ad-hoc URLs name themselves; a configured probe says whose it is.
            let of = match (app.as_str(), env.as_str()) {
                ("", "") => String::new(),
                _ => format!(" ({})", where_probed(app, env, cfg)),
            };
            lines.push(format!(
                "would probe {} {url}{of} every {} for up to {}, soak {}",
                p.method,
                humantime::format_duration(cfg.interval),
                humantime::format_duration(cfg.deadline),
                humantime::format_duration(cfg.soak)
            ));
        }
        if rollback {
            lines.push(format!(
                "if the gate of {app} fails: roll it back to its previous successful deployment \
                 (`stage-gate rollback --env {env} --app {app} --dry-run` lists those calls)"
            ));
        }
    }
    Ok(Report::of(&HealthResult::DryRun(HealthDryRun {
        dry_run: true,
        probes: lines,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(verdict: Verdict) -> GateReport {
        GateReport {
            app: "web".into(),
            env: "staging".into(),
            verdict,
            elapsed_ms: 1,
            probes: Vec::new(),
        }
    }

    /// An ad-hoc probe has no assertions: `--version` becomes one on its body, matching the
    /// version as a whole and nothing that merely contains it.
    #[test]
    fn a_url_probe_must_report_the_asked_version_in_its_body() {
        let mut gates = vec![(
            String::new(),
            String::new(),
            HealthConfig {
                probes: vec![health::default_probe("https://x/version")],
                ..HealthConfig::default()
            },
        )];
        check_version(&mut gates, "1.2.3", true).unwrap();
        let re = regex::Regex::new(gates[0].2.probes[0].body_regex.as_deref().unwrap()).unwrap();
        for body in [
            r#"{"version":"1.2.3"}"#,
            "v1.2.3",
            "1.2.3",
            "release 1.2.3\n",
        ] {
            assert!(re.is_match(body), "{body}");
        }
        for body in ["11.2.3", "1.2.30", "1.2.3-rc.1", "1.2.3.4", "1x2y3", "ok"] {
            assert!(!re.is_match(body), "{body}");
        }
    }

    #[test]
    fn a_failed_gate_exits_4_with_the_verdict_output() {
        let report = render(
            Some("staging"),
            vec![gate(Verdict::Healthy), gate(Verdict::Timeout)],
            None,
        );
        assert_eq!(report.exit, Some(Exit::DeployFailed));
        assert!(report
            .outputs
            .contains(&("verdict".to_string(), "timeout".to_string())));
        assert_eq!(report.json["verdict"], "timeout");
        assert!(report.summary.starts_with("### stage-gate health: timeout"));

        let ok = render(Some("staging"), vec![gate(Verdict::Healthy)], None);
        assert_eq!(ok.exit, None);
        assert_eq!(
            worst(&[gate(Verdict::Timeout), gate(Verdict::Unhealthy)]),
            Verdict::Unhealthy
        );
    }
}
