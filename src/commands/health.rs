//! `stage-gate health --env ENV [--app APP] [--url U…] [--version V]`: run the health gate of
//! every target of ENV (or of ad-hoc URLs with the default schedule) and report the verdict.
//! Exit 4 when any gate fails; the summary table, the JSON document and the `verdict` output
//! are written either way.

use crate::cli::HealthArgs;
use crate::config::HealthConfig;
use crate::context::Ctx;
use crate::exit::{Exit, Failure};
use crate::health::{self, GateReport, Vars, Verdict};
use crate::inputs::pick;
use crate::report::Report;

pub async fn run(ctx: &Ctx, args: &HealthArgs) -> Result<Report, Failure> {
    if args.rollback {
        return Err(Failure::input(
            "`health --rollback` is not available yet: run `stage-gate rollback` after a failed gate",
        ));
    }
    let env = pick(args.environment.clone(), &ctx.inputs, "environment");
    let app = pick(args.app.clone(), &ctx.inputs, "app");
    let version =
        pick(args.version.clone(), &ctx.inputs, "version").or_else(|| version_of_tag(ctx));
    let sha = ctx.head_sha();
    let gates = gates(ctx, env.as_deref(), app.as_deref(), &args.urls)?;

    let vars_of = |app: &str, env: &str| Vars {
        app: app.to_string(),
        env: env.to_string(),
        version: version.clone(),
        sha: sha.clone(),
    };
    if ctx.dry_run {
        return dry_run(&gates, &vars_of);
    }
    let _group = ctx.console.group(format!(
        "health gate: {}",
        gates
            .iter()
            .map(|(app, env, cfg)| format!("{app} in {env} ({} probe(s))", cfg.probes.len()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let runs = gates.iter().map(|(app, env, cfg)| {
        let vars = vars_of(app, env);
        async move { health::gate(cfg, &vars, ctx.into()).await }
    });
    let reports = futures::future::join_all(runs)
        .await
        .into_iter()
        .collect::<Result<Vec<GateReport>, _>>()?;
    Ok(render(env.as_deref(), &reports))
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
        return Ok(vec![(
            app.unwrap_or("-").to_string(),
            env.unwrap_or("-").to_string(),
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

fn render(env: Option<&str>, reports: &[GateReport]) -> Report {
    let verdict = worst(reports);
    let mut report = Report::new(format!("health {}", env.unwrap_or("")));
    report.output("verdict", verdict.as_str());
    report.output(
        "result",
        if verdict == Verdict::Healthy {
            "success"
        } else {
            "failure"
        },
    );
    report.summary = format!(
        "### stage-gate health: {}\n\n{}",
        verdict.as_str(),
        reports
            .iter()
            .map(GateReport::summary)
            .collect::<Vec<_>>()
            .join("\n")
    );
    report.human = reports
        .iter()
        .map(GateReport::human)
        .collect::<Vec<_>>()
        .join("\n");
    report.json = serde_json::json!({
        "verdict": verdict,
        "gates": reports.iter().map(GateReport::json).collect::<Vec<_>>(),
    });
    if verdict != Verdict::Healthy {
        report.exit = Some(Exit::DeployFailed);
    }
    report
}

/// Unhealthy beats timeout beats healthy.
fn worst(reports: &[GateReport]) -> Verdict {
    let verdicts: Vec<Verdict> = reports.iter().map(|r| r.verdict).collect();
    if verdicts.contains(&Verdict::Unhealthy) {
        Verdict::Unhealthy
    } else if verdicts.contains(&Verdict::Timeout) {
        Verdict::Timeout
    } else {
        Verdict::Healthy
    }
}

fn dry_run(
    gates: &[(String, String, HealthConfig)],
    vars_of: &dyn Fn(&str, &str) -> Vars,
) -> Result<Report, Failure> {
    let mut lines = Vec::new();
    for (app, env, cfg) in gates {
        let vars = vars_of(app, env);
        for p in &cfg.probes {
            let url = vars.expand(&p.url, &format!("the URL `{}`", p.url))?;
            lines.push(format!(
                "would probe {} {url} ({app} in {env}) every {} for up to {}, soak {}",
                p.method,
                humantime::format_duration(cfg.interval),
                humantime::format_duration(cfg.deadline),
                humantime::format_duration(cfg.soak)
            ));
        }
    }
    let mut report = Report::new("health (dry run)");
    report.human = lines.join("\n");
    report.json = serde_json::json!({"dry_run": true, "probes": lines});
    Ok(report)
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

    #[test]
    fn a_failed_gate_exits_4_with_the_verdict_output() {
        let report = render(
            Some("staging"),
            &[gate(Verdict::Healthy), gate(Verdict::Timeout)],
        );
        assert_eq!(report.exit, Some(Exit::DeployFailed));
        assert!(report
            .outputs
            .contains(&("verdict".to_string(), "timeout".to_string())));
        assert_eq!(report.json["verdict"], "timeout");
        assert!(report.summary.starts_with("### stage-gate health: timeout"));

        let ok = render(Some("staging"), &[gate(Verdict::Healthy)]);
        assert_eq!(ok.exit, None);
        assert_eq!(
            worst(&[gate(Verdict::Timeout), gate(Verdict::Unhealthy)]),
            Verdict::Unhealthy
        );
    }
}
