//! Deploy workflows (`.github/workflows/*.yml`), read into a typed model: what deploys
//! (by argv, known actions and deploy-API calls), to which environment (by whole words of
//! the app, config, job environment and trigger, said in each finding), and the hazards
//! release engineers fear around it. Rules and their severities: `docs/rules.md`; the
//! README shows each with an example.
//!
//! source → keys (what GitHub refuses) → deploys (shell, environment) → rules (condition,
//! model) → findings.

pub mod condition;
pub mod deploys;
pub mod environment;
pub mod keys;
pub mod model;
mod rules;
pub mod shell;
pub mod source;

use crate::report::{Diagnostic, Location};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the stage-gate config and the repository tell the workflow checks.
#[derive(Debug, Default, Clone)]
pub struct Policy {
    /// Production `requires:` this environment in the stage-gate config: an ungated
    /// production deploy then breaks a rule the team wrote down (an error, not a warning).
    pub production_requires: Option<String>,
    /// Files of the repository the checks read (`fly*.toml`, `.dockerignore`), by path
    /// relative to its root. Empty when checking a workflow alone.
    pub files: BTreeMap<String, String>,
}

/// What a fly.toml says that changes what a deploy of it does.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FlyFacts {
    pub path: String,
    pub app: Option<String>,
    /// `[build] image`: flyctl deploys that image and uploads nothing.
    pub image: Option<String>,
}

impl Policy {
    /// Whether `dir`'s `.dockerignore` leaves `.git` out of a build context.
    pub fn dockerignore_excludes_git(&self, dir: &str) -> bool {
        let Some(text) = self.files.get(&join_path(dir, ".dockerignore")) else {
            return false;
        };
        let mut excluded = false;
        for line in text.lines().map(str::trim) {
            let pattern = line
                .trim_start_matches("./")
                .trim_start_matches('/')
                .trim_end_matches('/');
            match pattern {
                ".git" | "**/.git" | ".git*" | "*" | "**" | ".*" => excluded = true,
                "!.git" | "!**/.git" => excluded = false,
                _ => {}
            }
        }
        excluded
    }

    /// The fly.toml a deploy in `cwd` with `-c config` reads, when the repository has it.
    pub fn fly_toml(&self, cwd: &str, config: Option<&str>) -> Option<FlyFacts> {
        let path = match config {
            Some(c) if c.contains("${{") || c.starts_with('$') => return None,
            Some(c) if c.ends_with(".toml") => join_path(cwd, c),
            Some(dir) => join_path(&join_path(cwd, dir), "fly.toml"),
            None => join_path(cwd, "fly.toml"),
        };
        let doc: toml_edit::DocumentMut = self.files.get(&path)?.parse().ok()?;
        let text = |v: Option<&toml_edit::Item>| v.and_then(|i| i.as_str()).map(str::to_string);
        Some(FlyFacts {
            app: text(doc.get("app")),
            image: text(doc.get("build").and_then(|b| b.get("image"))),
            path,
        })
    }
}

/// Where zizmor looks for its config (its `unpinned-uses` policy is the team's pinning rule).
pub const ZIZMOR_CONFIGS: &[&str] = &[
    ".github/zizmor.yml",
    ".github/zizmor.yaml",
    "zizmor.yml",
    "zizmor.yaml",
];

impl Policy {
    /// Whether `owner/repo` may run at a tag or branch: the most specific pattern of the
    /// repository's zizmor `unpinned-uses` policy (`owner/repo`, `owner/*`, `*`) when there
    /// is one, else zizmor's default (GitHub's `actions/*` and `github/*` by ref).
    pub fn ref_pin_allowed(&self, owner: &str, repo: &str) -> bool {
        let policies = ZIZMOR_CONFIGS
            .iter()
            .find_map(|p| self.files.get(*p))
            .and_then(|t| serde_yaml::from_str::<serde_yaml::Value>(t).ok())
            .and_then(|v| {
                let m = v
                    .get("rules")?
                    .get("unpinned-uses")?
                    .get("config")?
                    .get("policies")?
                    .as_mapping()?
                    .clone();
                Some(
                    m.iter()
                        .filter_map(|(k, v)| {
                            Some((k.as_str()?.to_ascii_lowercase(), v.as_str()?.to_string()))
                        })
                        .collect::<Vec<_>>(),
                )
            });
        let Some(policies) = policies else {
            return matches!(owner, "actions" | "github");
        };
        let exact = format!("{owner}/{repo}");
        let any_of_owner = format!("{owner}/*");
        let decided = [exact.as_str(), any_of_owner.as_str(), "*"]
            .iter()
            .find_map(|want| {
                policies
                    .iter()
                    .find(|(k, _)| k == want)
                    .map(|(_, v)| v.clone())
            });
        decided.is_some_and(|v| v == "ref-pin" || v == "any")
    }
}

/// `dir/name` relative to the repository root, `.` and `..` resolved.
pub fn join_path(dir: &str, name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in dir.split('/').chain(name.split('/')) {
        match p {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A deploy that every push to the integration branch runs: staging ones, and production
/// ones with no gate (for the cross-file "simultaneous" check).
#[derive(Debug, Clone)]
pub struct MainPushDeploy {
    pub production: bool,
    pub job: String,
    pub location: Location,
}

/// Check a set of workflow files: each one, then seed 004's simultaneous deployment across
/// them (staging and production deployed by one push, in one file or two).
pub fn check_all(files: &[(&Path, &str)], policy: &Policy) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut main_push = Vec::new();
    let mut sources = Vec::new();
    for (path, text) in files {
        match source::Source::read(path, text) {
            Ok(s) => sources.push(s),
            Err(e) => out.push(
                Diagnostic::error(
                    "workflow/syntax",
                    format!("not a workflow GitHub can run: {}", e.message),
                    Location::new(path, e.line, e.column).with_source(text),
                )
                .with_help("fix the YAML or the key at the line named; `actionlint` explains workflow syntax in detail"),
            ),
        }
    }
    let mut ctxs: Vec<rules::Ctx> = sources.iter().map(|s| rules::Ctx::new(s, policy)).collect();
    let called = called_deploys(&ctxs);
    for (i, deploys) in called {
        ctxs[i].found.deploys.extend(deploys);
    }
    for src in &sources {
        out.extend(keys::check(src));
    }
    for ctx in &ctxs {
        rules::gating::check(ctx, &mut main_push, &mut out);
        rules::concurrency::check(ctx, &mut out);
        rules::verify::check(ctx, &mut out);
        rules::scripts::check(ctx, &mut out);
        rules::permissions::check(ctx, &mut out);
        rules::supply::check(ctx, &mut out);
    }
    let staging = main_push.iter().find(|d| !d.production);
    let production = main_push.iter().find(|d| d.production);
    if let (Some(s), Some(p)) = (staging, production) {
        out.push(
            Diagnostic::error(
                "workflow/simultaneous-deploy",
                format!(
                    "every push deploys staging (job `{}`) and production (job `{}`) at the same time: production does not wait for staging to prove the change",
                    s.job, p.job
                ),
                p.location.clone(),
            )
            .with_related(s.location.clone())
            .with_help("deploy staging on push, then promote to production from a tag or an approved environment (`stage-gate promote`)"),
        );
    }
    out
}

/// Check one workflow file on its own, with no stage-gate policy.
pub fn check(path: &Path, text: &str) -> Vec<Diagnostic> {
    check_all(&[(path, text)], &Policy::default())
}

/// The deploys of a local reusable workflow (`uses: ./.github/workflows/deploy.yml`),
/// as deploys of the job that calls it: the caller's triggers decide when they run.
fn called_deploys(ctxs: &[rules::Ctx]) -> Vec<(usize, Vec<deploys::Deploy>)> {
    let mut out = Vec::new();
    for (i, ctx) in ctxs.iter().enumerate() {
        let mut found = Vec::new();
        for job in ctx.jobs.iter() {
            let Some(called) = job.calls.as_deref().and_then(|u| u.strip_prefix("./")) else {
                continue;
            };
            let Some(callee) = ctxs.iter().find(|c| c.src.path == Path::new(called)) else {
                continue;
            };
            for d in &callee.found.deploys {
                let name = job.name.clone().unwrap_or_default();
                let env = environment::decide(&[("job", &name), ("job", job.id)], d.env.clone());
                found.push(deploys::Deploy {
                    job: job.id.to_string(),
                    step: usize::MAX,
                    kind: d.kind,
                    location: ctx.src.value(&["jobs", job.id, "uses"]),
                    what: format!("{} (in `{called}`)", d.what),
                    env,
                    fire_and_forget: false,
                    promote: d.promote,
                    records_deployments: false,
                    unchecked_http: false,
                });
            }
        }
        if !found.is_empty() {
            out.push((i, found));
        }
    }
    out
}

/// Our rule that a zizmor audit also reports, if any.
pub fn zizmor_twin(rule: &str) -> Option<&'static str> {
    match rule {
        "workflow/script-injection" => Some("zizmor/template-injection"),
        "workflow/unpinned-action" => Some("zizmor/unpinned-uses"),
        "workflow/checkout-credentials" => Some("zizmor/artipacked"),
        "workflow/fork-secrets" => Some("zizmor/dangerous-triggers"),
        "workflow/permissions" => Some("zizmor/excessive-permissions"),
        _ => None,
    }
}

/// Drop our findings that a merged zizmor finding already says: same file, the twin rule,
/// and zizmor's line within the step (or at the key) ours points into.
pub fn drop_zizmor_duplicates(diags: &mut Vec<Diagnostic>, texts: &[(PathBuf, String)]) {
    let zizmor: Vec<(PathBuf, String, usize)> = diags
        .iter()
        .filter(|d| d.rule.starts_with("zizmor/"))
        .map(|d| (d.location.file.clone(), d.rule.clone(), d.location.line))
        .collect();
    if zizmor.is_empty() {
        return;
    }
    diags.retain(|d| {
        let Some(twin) = zizmor_twin(&d.rule) else {
            return true;
        };
        // The `deployments: write` error is ours alone.
        if d.severity == crate::report::Severity::Error && d.rule == "workflow/permissions" {
            return true;
        }
        let text = texts
            .iter()
            .find(|(p, _)| *p == d.location.file)
            .map(|(_, t)| t.as_str());
        let start = text.map_or(d.location.line, |t| step_start(t, d.location.line));
        !zizmor.iter().any(|(file, rule, line)| {
            *file == d.location.file && rule == twin && (start..=d.location.line).contains(line)
        })
    });
}

/// The first line of the step (`- `) that contains `line`, or `line` itself.
fn step_start(text: &str, line: usize) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let Some(here) = lines.get(line.saturating_sub(1)) else {
        return line;
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut limit = indent(here) + 1;
    for n in (1..=line).rev() {
        let l = lines[n - 1];
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if indent(l) < limit {
            if l.trim_start().starts_with("- ") {
                return n;
            }
            limit = indent(l);
            if limit == 0 {
                break;
            }
        }
    }
    line
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;
