//! `stage-gate check` beyond the stage-gate config: fly.toml files, parity between the
//! environments of one app, deploy workflows and production Dockerfiles. Offline only —
//! fork PRs have no Fly token. Each checker returns diagnostics; this module decides which
//! files to check (named by the config, discovered in the repo, given on the command
//! line), runs the checkers and the optional external linters, and collects the results.

pub mod dockerfile;
pub mod external;
pub mod fly_regions;
pub mod fly_schema;
pub mod fly_toml;
pub mod parity;
mod promotion;
pub mod secrets;
pub mod tree;
pub mod workflow;

#[cfg(test)]
mod corpus_tests;

use crate::config::locate::locate;
use crate::config::{Config, ProviderConfig};
use crate::report::{Diagnostic, Location};
use fly_toml::FlyFile;
use globset::{Glob, GlobSetBuilder};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// What to check.
pub struct Request<'a> {
    pub root: &'a Path,
    pub config: &'a Config,
    /// Extra files from the command line (fly.toml, workflows, Dockerfiles).
    pub paths: &'a [PathBuf],
    /// The PATH to look for actionlint and zizmor in; None runs neither.
    pub linter_path: Option<&'a str>,
}

/// The kinds of file `check` reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    FlyToml,
    Workflow,
    Dockerfile,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read, repo-relative.
    pub checked: BTreeSet<(Kind, PathBuf)>,
    /// Parity comparisons made: (file, file).
    pub pairs: Vec<(PathBuf, PathBuf)>,
    /// What happened with the external linters, for the summary.
    pub notes: Vec<String>,
}

/// Directories never searched: build output, dependencies, VCS internals.
const SKIP_DIRS: &[&str] = &["target", "node_modules", ".git", "vendor", "dist", "build"];

pub async fn run(req: &Request<'_>) -> Outcome {
    let mut out = Outcome::default();
    let files = walk(req.root);
    let mut fly_paths: BTreeSet<PathBuf> = BTreeSet::new();
    let mut workflow_paths: BTreeSet<PathBuf> = BTreeSet::new();
    let mut docker_paths: BTreeSet<PathBuf> = BTreeSet::new();

    // Named by the config; a missing one is an error at the config key.
    let named = named_fly_files(req, &mut out.diagnostics);
    out.diagnostics.extend(ungated_targets(req));
    out.diagnostics.extend(promotion::rebuilding_targets(req));
    fly_paths.extend(named.iter().map(|(_, _, p)| p.clone()));
    // Discovered: fly*.toml anywhere, plus the config's extra globs.
    let extra = globs(&req.config.check.fly_toml);
    fly_paths.extend(
        files
            .iter()
            .filter(|p| is_fly_name(p) || extra.is_match(p))
            .cloned(),
    );
    let wf_globs = globs(&req.config.check.workflows);
    workflow_paths.extend(files.iter().filter(|p| wf_globs.is_match(p)).cloned());
    for p in req.paths {
        let rel = relative(req.root, p);
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if req.config.path.as_deref() == Some(rel.as_path()) {
            continue; // the stage-gate config itself: already validated
        } else if name.contains(".toml") {
            fly_paths.insert(rel);
        } else if name.ends_with(".yml") || name.ends_with(".yaml") {
            workflow_paths.insert(rel);
        } else if name.contains("dockerfile") {
            docker_paths.insert(rel);
        } else {
            out.notes.push(format!(
                "{}: not a fly.toml, workflow or Dockerfile; not checked",
                rel.display()
            ));
        }
    }

    // fly.toml files, then parity between environments of one app.
    let mut fly: BTreeMap<PathBuf, FlyFile> = BTreeMap::new();
    // What the workflow checks read of the repository: these fly.toml files (read once,
    // here), `.dockerignore` files and zizmor's config.
    let mut repo_files: BTreeMap<String, String> = BTreeMap::new();
    for rel in &fly_paths {
        match read(req.root, rel) {
            Ok(text) => {
                let (file, diags) = fly_toml::check(rel, &text);
                out.diagnostics.extend(diags);
                out.checked.insert((Kind::FlyToml, rel.clone()));
                fly.insert(rel.clone(), file);
                repo_files.insert(rel.to_string_lossy().into_owned(), text);
            }
            Err(e) => out.diagnostics.push(unreadable(rel, &e)),
        }
    }
    parity_checks(req, &named, &fly, &mut out);

    // Workflows, as one set (the simultaneous-deploy check spans files).
    let mut texts: Vec<(PathBuf, String)> = Vec::new();
    for rel in &workflow_paths {
        match read(req.root, rel) {
            Ok(text) => texts.push((rel.clone(), text)),
            Err(e) => out.diagnostics.push(unreadable(rel, &e)),
        }
    }
    let refs: Vec<(&Path, &str)> = texts
        .iter()
        .map(|(p, t)| (p.as_path(), t.as_str()))
        .collect();
    let policy = workflow::Policy {
        production_requires: req
            .config
            .environments
            .values()
            .filter(|p| p.production)
            .find_map(|p| p.requires.clone()),
        files: {
            let others = files.iter().filter(|p| {
                p.file_name().is_some_and(|n| n == ".dockerignore")
                    || workflow::ZIZMOR_CONFIGS.iter().any(|c| *p == Path::new(c))
            });
            for p in others {
                if let Ok(text) = read(req.root, p) {
                    repo_files.insert(p.to_string_lossy().into_owned(), text);
                }
            }
            repo_files
        },
    };
    out.diagnostics.extend(workflow::check_all(&refs, &policy));
    out.checked
        .extend(texts.iter().map(|(p, _)| (Kind::Workflow, p.clone())));

    // Production Dockerfiles: those a fly.toml builds run on Fly Machines.
    let for_fly: BTreeSet<PathBuf> =
        production_dockerfiles(req, &named, &fly, &mut out.diagnostics)
            .into_iter()
            .collect();
    docker_paths.extend(for_fly.iter().cloned());
    for rel in &docker_paths {
        match read(req.root, rel) {
            Ok(text) => {
                out.diagnostics.extend(dockerfile::check(
                    rel,
                    &text,
                    req.config.check.dockerfile_errors,
                    for_fly.contains(rel),
                ));
                out.checked.insert((Kind::Dockerfile, rel.clone()));
            }
            Err(e) => out.diagnostics.push(unreadable(rel, &e)),
        }
    }

    if let (Some(path_var), false) = (req.linter_path, texts.is_empty()) {
        let wf: Vec<PathBuf> = texts.iter().map(|(p, _)| p.clone()).collect();
        run_linters(req.root, &wf, path_var, &mut out).await;
        workflow::drop_zizmor_duplicates(&mut out.diagnostics, &texts);
    }
    out
}

/// (app, env, path) of every fly.toml the config names.
fn named_fly_files(req: &Request, diags: &mut Vec<Diagnostic>) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    for app in req.config.apps.values() {
        for (env, target) in &app.environments {
            let ProviderConfig::Fly(f) = &target.provider else {
                continue;
            };
            let Some(path) = &f.config else { continue };
            let rel = relative(req.root, path);
            if req.root.join(&rel).is_file() {
                out.push((app.name.clone(), env.clone(), rel));
            } else {
                diags.push(config_error(
                    req,
                    &["apps", &app.name, "environments", env, "fly", "config"],
                    "fly/missing-file",
                    format!(
                        "`{}` (the fly.toml of {}/{env}) does not exist",
                        rel.display(),
                        app.name
                    ),
                ));
            }
        }
    }
    out
}

/// Fly targets deployed with `strategy: immediate` and no health probe: nothing waits for the
/// machines and nothing probes them, so a crashing image is a "successful" deploy.
fn ungated_targets(req: &Request) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for app in req.config.apps.values() {
        for (env, target) in &app.environments {
            let ProviderConfig::Fly(f) = &target.provider else {
                continue;
            };
            if f.strategy != crate::config::FlyStrategy::Immediate
                || !target.health.probes.is_empty()
            {
                continue;
            }
            let mut d = config_error(
                req,
                &["apps", &app.name, "environments", env, "fly", "strategy"],
                "config/no-health-gate",
                format!(
                    "{}/{env} deploys with `strategy: immediate` and no health probe: nothing \
                     waits for the machines or checks them, so an image that crashes still \
                     deploys with exit 0",
                    app.name
                ),
            );
            d.severity = crate::report::Severity::Warning;
            d.help = Some(
                "add `health: { probes: [{ url: … }] }` to this environment, or use \
                 `strategy: rolling` (it waits for each machine's checks)"
                    .into(),
            );
            out.push(d);
        }
    }
    out
}

fn config_error(req: &Request, keys: &[&str], rule: &str, message: String) -> Diagnostic {
    let path = req
        .config
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(".github/stage-gate.yml"));
    let text = read(req.root, &path).unwrap_or_default();
    let (line, col) = locate(&text, keys).unwrap_or((1, 1));
    Diagnostic::error(
        rule,
        message,
        Location::new(path, line, col).with_source(&text),
    )
}

/// Pairs from the config (targets of one app across environments, each against the
/// production one), then `fly.<env>.toml` files beside a production file.
fn parity_checks(
    req: &Request,
    named: &[(String, String, PathBuf)],
    fly: &BTreeMap<PathBuf, FlyFile>,
    out: &mut Outcome,
) {
    let rules = parity::Rules {
        must_match: req.config.check.parity_must_match.clone(),
        may_differ: req.config.check.parity_may_differ.clone(),
    };
    let mut pairs: Vec<(String, PathBuf, String, PathBuf)> = Vec::new();
    for (app, env, path) in named {
        if req.config.policy(env).production {
            continue;
        }
        for (app2, env2, path2) in named {
            if app2 == app && path2 != path && req.config.policy(env2).production {
                pairs.push((env.clone(), path.clone(), env2.clone(), path2.clone()));
            }
        }
    }
    let mut by_dir: BTreeMap<PathBuf, Vec<(String, &PathBuf)>> = BTreeMap::new();
    for path in fly.keys().filter(|p| is_fly_name(p)) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(env) = parity::env_of_file_name(&name) {
            by_dir
                .entry(path.parent().unwrap_or(Path::new("")).to_path_buf())
                .or_default()
                .push((env, path));
        }
    }
    for files in by_dir.values() {
        // An explicit fly.production.toml / fly.prod.toml wins over a plain fly.toml.
        let production = files
            .iter()
            .filter(|(env, _)| env == "production")
            .max_by_key(|(_, p)| p.file_name().map(|n| n.len()).unwrap_or(0));
        let Some((_, prod)) = production else {
            continue;
        };
        for (env, path) in files.iter().filter(|(env, _)| env != "production") {
            pairs.push((
                env.clone(),
                (*path).clone(),
                "production".into(),
                (*prod).clone(),
            ));
        }
    }
    // A line already reported as wrong in its file is not reported again as a difference.
    let wrong: BTreeSet<(PathBuf, usize)> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::report::Severity::Error)
        .map(|d| (d.location.file.clone(), d.location.line))
        .collect();
    let mut seen = BTreeSet::new();
    for (env_a, a, env_b, b) in pairs {
        let (Some(fa), Some(fb)) = (fly.get(&a), fly.get(&b)) else {
            continue;
        };
        if !seen.insert((a.clone(), b.clone())) {
            continue;
        }
        let found = parity::compare(
            &parity::Side {
                env: &env_a,
                file: fa,
            },
            &parity::Side {
                env: &env_b,
                file: fb,
            },
            &rules,
        );
        out.diagnostics.extend(found.into_iter().filter(|d| {
            let at = |l: &crate::report::Location| wrong.contains(&(l.file.clone(), l.line));
            !at(&d.location) && !d.related.as_ref().is_some_and(at)
        }));
        out.pairs.push((a, b));
    }
}

/// `App.dockerfiles`, and the Dockerfile each production fly.toml builds from
/// (`[build] dockerfile`, else `Dockerfile` beside it when it does not deploy an image).
fn production_dockerfiles(
    req: &Request,
    named: &[(String, String, PathBuf)],
    fly: &BTreeMap<PathBuf, FlyFile>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for app in req.config.apps.values() {
        for d in &app.dockerfiles {
            let rel = relative(req.root, d);
            if req.root.join(&rel).is_file() {
                out.insert(rel);
            } else {
                diags.push(config_error(
                    req,
                    &["apps", &app.name, "dockerfiles"],
                    "docker/missing-file",
                    format!(
                        "Dockerfile `{}` of app {} does not exist",
                        rel.display(),
                        app.name
                    ),
                ));
            }
        }
    }
    let production: BTreeSet<&PathBuf> = named
        .iter()
        .filter(|(_, env, _)| req.config.policy(env).production)
        .map(|(_, _, p)| p)
        .chain(fly.keys().filter(|p| {
            p.file_name()
                .and_then(|n| parity::env_of_file_name(&n.to_string_lossy()))
                .is_some_and(|e| e == "production")
        }))
        .collect();
    for path in production {
        let Some(file) = fly.get(path) else { continue };
        let dir = path.parent().unwrap_or(Path::new(""));
        let image = file
            .root
            .as_ref()
            .and_then(|r| r.get("build"))
            .and_then(|b| b.get("image"))
            .is_some();
        let candidate = match file.dockerfile() {
            Some(d) => normalize(&dir.join(d)),
            None if !image => normalize(&dir.join("Dockerfile")),
            None => continue,
        };
        if req.root.join(&candidate).is_file() {
            out.insert(candidate);
        } else if file.dockerfile().is_some() {
            let pos = file
                .root
                .as_ref()
                .and_then(|r| r.get("build")?.get("dockerfile"))
                .map_or(tree::Pos { line: 1, column: 1 }, |n| n.pos);
            diags.push(Diagnostic::error(
                "fly/missing-dockerfile",
                format!(
                    "`[build] dockerfile` names `{}`, which does not exist",
                    candidate.display()
                ),
                file.location(pos),
            ));
        }
    }
    out
}

async fn run_linters(root: &Path, workflows: &[PathBuf], path_var: &str, out: &mut Outcome) {
    for tool in ["actionlint", "zizmor"] {
        let Some(bin) = external::find_on_path(tool, Some(path_var)) else {
            continue;
        };
        let result = match tool {
            "actionlint" => external::actionlint(&bin, root, workflows, Some(path_var)).await,
            _ => external::zizmor(&bin, root, workflows, Some(path_var)).await,
        };
        match result {
            Ok(diags) => {
                out.notes
                    .push(format!("{tool}: {} finding(s) merged", diags.len()));
                // Give their findings our caret rendering too.
                out.diagnostics.extend(diags.into_iter().map(|mut d| {
                    if let Ok(text) = read(root, &d.location.file) {
                        d.location = d.location.clone().with_source(&text);
                    }
                    d
                }));
            }
            Err(e) => out.notes.push(format!("{tool} skipped: {e}")),
        }
    }
}

/// Why a file could not be read, at the place that says so: the first byte that is not
/// UTF-8 has its line and column.
#[derive(Debug)]
enum Unreadable {
    Io(std::io::Error),
    Directory,
    NotUtf8 { line: usize, column: usize },
}

fn unreadable(rel: &Path, e: &Unreadable) -> Diagnostic {
    let (message, line, column, help) = match e {
        Unreadable::Io(e) => (format!("cannot read {}: {e}", rel.display()), 1, 1, None),
        Unreadable::Directory => (
            format!("{} is a directory, not a file", rel.display()),
            1,
            1,
            Some("name the file inside it (e.g. `fly.toml`)"),
        ),
        Unreadable::NotUtf8 { line, column } => (
            format!(
                "{} is not UTF-8 text: the byte at line {line}, column {column} is not",
                rel.display()
            ),
            *line,
            *column,
            Some("save the file as UTF-8"),
        ),
    };
    let d = Diagnostic::error(
        "check/unreadable",
        message,
        Location::new(rel, line, column),
    );
    match help {
        Some(h) => d.with_help(h),
        None => d,
    }
}

fn read(root: &Path, rel: &Path) -> Result<String, Unreadable> {
    let path = root.join(rel);
    if path.is_dir() {
        return Err(Unreadable::Directory);
    }
    let bytes = std::fs::read(&path).map_err(Unreadable::Io)?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        Unreadable::NotUtf8 { line, column }
    })
}

/// `fly.toml`, `fly.staging.toml`, `fly-worker.toml`.
fn is_fly_name(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        n.starts_with("fly") && n.ends_with(".toml")
    })
}

fn globs(patterns: &[String]) -> globset::GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        // Validation already rejected bad globs; a bad one here just matches nothing.
        if let Ok(g) = Glob::new(p) {
            b.add(g);
        }
    }
    b.build().unwrap_or_else(|_| globset::GlobSet::empty())
}

/// Every file under `root`, repo-relative, skipping build output, dependencies and VCS
/// internals (hidden directories other than `.github` too).
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = dir.join(&name);
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                let hidden = name.starts_with('.') && name != ".github";
                if !hidden && !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(rel);
                }
            } else if ft.is_file() {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// `p` relative to `root` when it is inside it; relative paths are taken as repo-relative.
fn relative(root: &Path, p: &Path) -> PathBuf {
    let p = if p.is_absolute() {
        p.strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| p.to_path_buf())
    } else {
        p.to_path_buf()
    };
    normalize(&p)
}

/// Drop `.` components and fold `dir/..` without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
