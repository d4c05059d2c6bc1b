//! Raw config → validated [`Config`]. Collects every problem instead of stopping at the first.

use super::model::*;
use super::raw::*;
use super::suggest::did_you_mean;
use super::yaml_tree::Node;
use crate::report::{Diagnostic, Location};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) struct Validator<'a> {
    text: &'a str,
    /// The parsed text, for positions.
    tree: &'a Node,
    file: &'a Path,
    errors: Vec<Diagnostic>,
}

impl Validator<'_> {
    pub(crate) fn error(
        &mut self,
        path: &[&str],
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let at = self.tree.locate_value(path);
        let (line, col) = (at.line, at.col);
        let mut d = Diagnostic::error(
            "config/invalid",
            format!("{} (at `{}`)", message.into(), path.join(".")),
            Location::new(self.file, line, col).with_source(self.text),
        );
        d.help = help;
        self.errors.push(d);
    }

    pub(crate) fn duration(
        &mut self,
        path: &[&str],
        value: Option<&str>,
        default: Duration,
    ) -> Duration {
        self.duration_at_most(path, value, default, super::duration::MAX)
    }

    pub(crate) fn duration_at_most(
        &mut self,
        path: &[&str],
        value: Option<&str>,
        default: Duration,
        max: Duration,
    ) -> Duration {
        match value {
            None => default,
            Some(v) => match super::duration::parse_at_most(v, max) {
                Ok(d) => d,
                Err(refused) => {
                    self.error(path, refused.message, Some(refused.help));
                    default
                }
            },
        }
    }

    pub(crate) fn choice<T: Copy>(
        &mut self,
        path: &[&str],
        value: Option<&str>,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(v) = value else { return default };
        if let Some((_, t)) = options.iter().find(|(name, _)| *name == v) {
            return *t;
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let help = super::suggest::one_of(v, &names);
        self.error(path, format!("`{v}` is not a valid value"), Some(help));
        default
    }
}

/// Whether a probe URL is an http(s) URL, templates (`{app}`, `${TOKEN}`) standing in for
/// the values they take at run time.
fn probe_url_shape(url: &str) -> Result<(), String> {
    static TEMPLATE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\$?\{[^{}]*\}").expect("static regex"));
    let sample = TEMPLATE.replace_all(url.trim(), "x");
    let parsed = url::Url::parse(&sample).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("is not http or https (`{}:`)", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}

const PRERELEASE: [(&str, PrereleasePolicy); 3] = [
    ("allow", PrereleasePolicy::Allow),
    ("refuse", PrereleasePolicy::Refuse),
    ("staging-only", PrereleasePolicy::StagingOnly),
];

pub fn validate(
    raw: RawConfig,
    text: &str,
    tree: &Node,
    file: &Path,
) -> Result<Config, super::ConfigError> {
    let mut v = Validator {
        text,
        tree,
        file,
        errors: Vec::new(),
    };
    if raw.version != 1 {
        v.error(
            &["version"],
            format!("unsupported config version {}", raw.version),
            Some("this stage-gate reads `version: 1`".into()),
        );
    }
    forward_slashes(&mut v, &raw);
    let release = release_policy(&mut v, raw.release.unwrap_or_default());
    let notes = notes_config(&mut v, raw.notes.unwrap_or_default());

    let mut environments = BTreeMap::new();
    for (name, policy) in &raw.environments {
        environments.insert(name.clone(), env_policy(&mut v, name, policy));
    }

    let mut apps = BTreeMap::new();
    for (app_name, raw_app) in &raw.apps {
        let mut targets = BTreeMap::new();
        for (env, raw_target) in &raw_app.environments {
            let merged = merge_defaults(raw.defaults.as_ref(), raw_target, app_name, env);
            if let Some(t) = target(&mut v, app_name, env, &merged) {
                targets.insert(env.clone(), t);
            }
            if !raw.environments.is_empty() && !raw.environments.contains_key(env) {
                let known: Vec<&str> = raw.environments.keys().map(String::as_str).collect();
                let help = did_you_mean(env, &known).map(|s| format!("did you mean `{s}`?"));
                v.error(
                    &["apps", app_name, "environments", env],
                    format!("environment `{env}` is not declared under `environments`"),
                    help.or(Some(format!("declared: {}", known.join(", ")))),
                );
            }
        }
        apps.insert(
            app_name.clone(),
            App {
                name: app_name.clone(),
                tag_pattern: raw_app.tag_pattern.clone(),
                dockerfiles: raw_app.dockerfiles.iter().map(PathBuf::from).collect(),
                environments: targets,
            },
        );
    }

    // `requires` must name an environment that exists somewhere.
    let known_envs: Vec<String> = environments
        .keys()
        .cloned()
        .chain(apps.values().flat_map(|a| a.environments.keys().cloned()))
        .collect();
    for (name, policy) in &environments {
        if let Some(req) = &policy.requires {
            if !known_envs.contains(req) {
                let names: Vec<&str> = known_envs.iter().map(String::as_str).collect();
                let help = did_you_mean(req, &names).map(|s| format!("did you mean `{s}`?"));
                v.error(
                    &["environments", name, "requires"],
                    format!("`requires: {req}` names no environment"),
                    help,
                );
            } else if req == name {
                v.error(
                    &["environments", name, "requires"],
                    "an environment cannot require itself",
                    None,
                );
            }
        }
    }

    super::pull_request::check_templates(&mut v, &environments, &apps);

    let notify = raw
        .notify
        .iter()
        .enumerate()
        .filter_map(|(i, n)| notify_config(&mut v, i, n))
        .collect();
    let check = check_config(&mut v, raw.check.unwrap_or_default());

    if v.errors.is_empty() {
        Ok(Config {
            path: Some(file.to_path_buf()),
            repository: raw.repository,
            release,
            notes,
            environments,
            apps,
            notify,
            check,
        })
    } else {
        Err(super::ConfigError(v.errors))
    }
}

/// File paths written with `\` (`infra\fly\fly.toml`): on the Linux runners `\` is part of
/// a file name, so the file would be "missing" with nothing saying why.
fn forward_slashes(v: &mut Validator, raw: &RawConfig) {
    let mut check = |path: Vec<String>, value: &str| {
        if value.contains('\\') {
            let steps: Vec<&str> = path.iter().map(String::as_str).collect();
            v.error(
                &steps,
                format!("`{value}` separates folders with `\\`"),
                Some(format!(
                    "write `{}`: paths in the config use `/` (on the Linux runners `\\` is part of a file name)",
                    value.replace('\\', "/")
                )),
            );
        }
    };
    let mut targets: Vec<(Vec<String>, &RawTarget)> = Vec::new();
    if let Some(d) = &raw.defaults {
        targets.push((vec!["defaults".into()], d));
    }
    for (app, a) in &raw.apps {
        for (i, d) in a.dockerfiles.iter().enumerate() {
            check(
                vec![
                    "apps".into(),
                    app.clone(),
                    "dockerfiles".into(),
                    i.to_string(),
                ],
                d,
            );
        }
        for (env, t) in &a.environments {
            let base = ["apps", app, "environments", env]
                .map(String::from)
                .to_vec();
            targets.push((base, t));
        }
    }
    let at = |base: &[String], rest: &[&str]| -> Vec<String> {
        base.iter()
            .cloned()
            .chain(rest.iter().map(|s| s.to_string()))
            .collect()
    };
    for (base, t) in targets {
        if let Some(c) = t.fly.as_ref().and_then(|f| f.config.as_deref()) {
            check(at(&base, &["fly", "config"]), c);
        }
        if let Some(w) = t
            .command
            .as_ref()
            .and_then(|c| c.working_directory.as_deref())
        {
            check(at(&base, &["command", "working-directory"]), w);
        }
        for (i, p) in t.health.iter().flat_map(|h| h.probes.iter()).enumerate() {
            if let Some(ca) = &p.ca_file {
                check(
                    at(&base, &["health", "probes", &i.to_string(), "ca-file"]),
                    ca,
                );
            }
        }
    }
}

fn release_policy(v: &mut Validator, r: RawRelease) -> ReleasePolicy {
    let d = ReleasePolicy::default();
    let tag_pattern = r.tag_pattern.unwrap_or(d.tag_pattern);
    if !tag_pattern.contains("{version}") {
        v.error(
            &["release", "tag-pattern"],
            format!("tag pattern `{tag_pattern}` has no `{{version}}`"),
            Some("e.g. `v{version}`, `{app}@{version}`, `{app}-v{version}`".into()),
        );
    }
    ReleasePolicy {
        branch: r.branch.unwrap_or(d.branch),
        branches: r.branches,
        tag_pattern,
        prerelease: v.choice(
            &["release", "prerelease"],
            r.prerelease.as_deref(),
            &PRERELEASE,
            d.prerelease,
        ),
        build_metadata: r.build_metadata.unwrap_or(d.build_metadata),
        annotated_tags: r.annotated_tags.unwrap_or(d.annotated_tags),
        allow_downgrade: r.allow_downgrade.unwrap_or(d.allow_downgrade),
        on_existing: v.choice(
            &["release", "on-existing"],
            r.on_existing.as_deref(),
            &[
                ("fail", OnExisting::Fail),
                ("skip", OnExisting::Skip),
                ("update", OnExisting::Update),
                ("update-draft", OnExisting::UpdateDraft),
            ],
            d.on_existing,
        ),
        assets: r.assets,
    }
}

fn notes_config(v: &mut Validator, n: RawNotes) -> NotesConfig {
    let d = NotesConfig::default();
    for (i, re) in n.skip.iter().enumerate() {
        if let Err(e) = regex::Regex::new(re) {
            let idx = i.to_string();
            v.error(
                &["notes", "skip", &idx],
                format!("invalid regex: {e}"),
                None,
            );
        }
    }
    NotesConfig {
        sections: n.sections.map(section_order).unwrap_or(d.sections),
        skip: if n.skip.is_empty() { d.skip } else { n.skip },
        contributors: n.contributors.unwrap_or(d.contributors),
    }
}

/// Section order. The YAML map arrives sorted by key, which would put `docs` before `feat`;
/// the conventional types keep their usual order (features first), other keys follow.
fn section_order(sections: BTreeMap<String, String>) -> Vec<(String, String)> {
    const ORDER: [&str; 11] = [
        "feat", "fix", "perf", "revert", "refactor", "docs", "style", "test", "build", "ci",
        "chore",
    ];
    let mut v: Vec<(String, String)> = sections.into_iter().collect();
    v.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    v
}

fn env_policy(v: &mut Validator, name: &str, p: &RawEnvironmentPolicy) -> EnvironmentPolicy {
    let d = EnvironmentPolicy::default_for(name);
    EnvironmentPolicy {
        name: name.to_string(),
        requires: p.requires.clone(),
        soak: v.duration(&["environments", name, "soak"], p.soak.as_deref(), d.soak),
        branches: p.branches.clone(),
        tags: p.tags.clone(),
        prerelease: v.choice(
            &["environments", name, "prerelease"],
            p.prerelease.as_deref(),
            &PRERELEASE,
            d.prerelease,
        ),
        allow_override: p.allow_override.unwrap_or(false),
        allow_rebuild: p.allow_rebuild.unwrap_or(false),
        stale_after: v.duration(
            &["environments", name, "stale-after"],
            p.stale_after.as_deref(),
            d.stale_after,
        ),
        production: p.production.unwrap_or(d.production),
        per_pull_request: p.per_pull_request.unwrap_or(false),
        ttl: v.duration_at_most(
            &["environments", name, "ttl"],
            p.ttl.as_deref(),
            d.ttl,
            super::pull_request::MAX_TTL,
        ),
        sweep_limit: p.sweep_limit.unwrap_or(d.sweep_limit),
    }
}

/// Fill a target's unset provider fields from `defaults`, expanding `{app}` and `{env}`.
fn merge_defaults(defaults: Option<&RawTarget>, t: &RawTarget, app: &str, env: &str) -> RawTarget {
    let Some(d) = defaults else { return t.clone() };
    let x = |s: &Option<String>| {
        s.as_ref()
            .map(|s| s.replace("{app}", app).replace("{env}", env))
    };
    let mut out = t.clone();
    let any_provider =
        t.fly.is_some() || t.coolify.is_some() || t.webhook.is_some() || t.command.is_some();
    if let Some(df) = &d.fly {
        if t.fly.is_some() || !any_provider {
            let mut f = t.fly.clone().unwrap_or_default();
            f.app = f.app.or_else(|| x(&df.app));
            f.config = f.config.or_else(|| x(&df.config));
            f.image = f.image.or_else(|| x(&df.image));
            f.strategy = f.strategy.or_else(|| df.strategy.clone());
            f.max_unavailable = f.max_unavailable.or(df.max_unavailable);
            f.wait_timeout = f.wait_timeout.or_else(|| df.wait_timeout.clone());
            f.api_url = f.api_url.or_else(|| df.api_url.clone());
            f.token_env = f.token_env.or_else(|| df.token_env.clone());
            f.org = f.org.or_else(|| df.org.clone());
            if f.secrets.is_empty() {
                f.secrets = df.secrets.clone();
            }
            if f.process_groups.is_empty() {
                f.process_groups = df.process_groups.clone();
            }
            out.fly = Some(f);
        }
    }
    if let Some(dc) = &d.coolify {
        if t.coolify.is_some() || !any_provider {
            let mut c = t.coolify.clone().unwrap_or_default();
            c.url = c.url.or_else(|| x(&dc.url));
            c.token_env = c.token_env.or_else(|| dc.token_env.clone());
            c.poll_interval = c.poll_interval.or_else(|| dc.poll_interval.clone());
            out.coolify = Some(c);
        }
    }
    out.url = out.url.or_else(|| x(&d.url));
    out.health = out.health.or_else(|| {
        d.health.clone().map(|mut h| {
            for p in &mut h.probes {
                p.url = p.url.replace("{app}", app).replace("{env}", env);
            }
            h
        })
    });
    out.rollback_on_failure = out.rollback_on_failure.or(d.rollback_on_failure);
    out.timeout = out.timeout.or_else(|| d.timeout.clone());
    out
}

fn target(v: &mut Validator, app: &str, env: &str, t: &RawTarget) -> Option<Target> {
    let base = ["apps", app, "environments", env];
    let at = |k: &'static str| -> Vec<&str> {
        let mut p = base.to_vec();
        p.push(k);
        p
    };
    let configured = crate::providers::registry::configured(t);
    let count = configured.len();
    if count != 1 {
        v.error(
            &base,
            if count == 0 {
                format!("`{app}` in `{env}` has no provider")
            } else {
                format!("`{app}` in `{env}` has {count} providers; exactly one is allowed")
            },
            Some(format!(
                "give exactly one of {}",
                crate::providers::registry::PROVIDERS
                    .iter()
                    .map(|p| format!("`{}`", p.key))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
        return None;
    }
    let registered = configured[0];
    let provider = (registered.resolve)(v, &at(registered.key), t)?;
    let health = health_config(v, &at("health"), t.health.clone().unwrap_or_default());
    let timeout = v.duration(
        &at("timeout"),
        t.timeout.as_deref(),
        Duration::from_secs(600),
    );
    Some(Target {
        app: app.to_string(),
        env: env.to_string(),
        provider,
        url: t.url.clone(),
        health,
        rollback_on_failure: t.rollback_on_failure.unwrap_or(false),
        timeout,
    })
}

fn health_config(v: &mut Validator, base: &[&str], h: RawHealth) -> HealthConfig {
    let d = HealthConfig::default();
    let p = |k: &'static str| -> Vec<&str> {
        let mut p = base.to_vec();
        p.push(k);
        p
    };
    let probes = h
        .probes
        .iter()
        .enumerate()
        .map(|(i, raw)| probe(v, base, i, raw))
        .collect();
    HealthConfig {
        initial_delay: v.duration(
            &p("initial-delay"),
            h.initial_delay.as_deref(),
            d.initial_delay,
        ),
        interval: v.duration(&p("interval"), h.interval.as_deref(), d.interval),
        timeout: v.duration(&p("timeout"), h.timeout.as_deref(), d.timeout),
        deadline: v.duration(&p("deadline"), h.deadline.as_deref(), d.deadline),
        success_threshold: h.success_threshold.unwrap_or(d.success_threshold).max(1),
        failure_threshold: h.failure_threshold.unwrap_or(d.failure_threshold).max(1),
        soak: v.duration(&p("soak"), h.soak.as_deref(), d.soak),
        probes,
    }
}

fn probe(v: &mut Validator, base: &[&str], i: usize, p: &RawProbe) -> Probe {
    let mut path = base.to_vec();
    path.push("probes");
    let idx = i.to_string();
    path.push(&idx);
    let expect_status = match parse_status_set(p.expect_status.as_ref()) {
        Ok(s) => s,
        Err(e) => {
            let mut sp = path.clone();
            sp.push("expect-status");
            v.error(
                &sp,
                e,
                Some("e.g. `200`, `\"200-299\"` or `[200, 204]`".into()),
            );
            vec![StatusRange { from: 200, to: 399 }]
        }
    };
    if let Some(re) = &p.body_regex {
        if let Err(e) = regex::Regex::new(re) {
            let mut rp = path.clone();
            rp.push("body-regex");
            v.error(&rp, format!("invalid regex: {e}"), None);
        }
    }
    for key in p.json.keys() {
        if let Err(e) = crate::jsonpath::JsonPath::parse(key) {
            let mut jp = path.clone();
            jp.push("json");
            jp.push(key);
            v.error(
                &jp,
                e,
                Some("e.g. `$.version` or `$.build.checks[0].status`".into()),
            );
        }
    }
    if let Err(why) = probe_url_shape(&p.url) {
        let mut up = path.clone();
        up.push("url");
        v.error(
            &up,
            format!("`{}` {why}", p.url),
            Some("a probe URL is `http://` or `https://` and a host, e.g. `https://{app}.fly.dev/healthz`".into()),
        );
    }
    let mut lp = path.clone();
    lp.push("max-latency");
    let max_latency = p
        .max_latency
        .as_deref()
        .map(|s| v.duration(&lp, Some(s), Duration::from_secs(5)));
    Probe {
        url: p.url.clone(),
        method: p
            .method
            .clone()
            .unwrap_or_else(|| "GET".into())
            .to_uppercase(),
        headers: p.headers.clone().into_iter().collect(),
        expect_status,
        body_regex: p.body_regex.clone(),
        json: p.json.clone().into_iter().collect(),
        max_latency,
        ca_file: p.ca_file.as_ref().map(PathBuf::from),
        follow_redirects: p.follow_redirects.unwrap_or(true),
    }
}

/// `200`, `"200-299"`, `"2xx"`, `[200, "300-302"]` → ranges.
pub fn parse_status_set(v: Option<&serde_json::Value>) -> Result<Vec<StatusRange>, String> {
    use serde_json::Value;
    fn one(v: &Value) -> Result<StatusRange, String> {
        match v {
            Value::Number(n) => {
                let c = n
                    .as_u64()
                    .filter(|c| (100..600).contains(c))
                    .ok_or("status must be 100-599")?;
                Ok(StatusRange {
                    from: c as u16,
                    to: c as u16,
                })
            }
            Value::String(s) => {
                let s = s.trim();
                if let Some(class) = s.strip_suffix("xx") {
                    let c: u16 = class
                        .parse()
                        .map_err(|_| format!("`{s}` is not a status class"))?;
                    return Ok(StatusRange {
                        from: c * 100,
                        to: c * 100 + 99,
                    });
                }
                if let Some((a, b)) = s.split_once('-') {
                    let a: u16 = a
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{s}` is not a range"))?;
                    let b: u16 = b
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{s}` is not a range"))?;
                    if a > b {
                        return Err(format!("`{s}`: range is backwards"));
                    }
                    return Ok(StatusRange { from: a, to: b });
                }
                let c: u16 = s.parse().map_err(|_| format!("`{s}` is not a status"))?;
                Ok(StatusRange { from: c, to: c })
            }
            _ => Err("expected a status, a range or a list".into()),
        }
    }
    match v {
        None => Ok(vec![StatusRange { from: 200, to: 399 }]),
        Some(Value::Array(items)) => items.iter().map(one).collect(),
        Some(other) => Ok(vec![one(other)?]),
    }
}

fn notify_config(v: &mut Validator, i: usize, n: &RawNotify) -> Option<Notify> {
    let idx = i.to_string();
    let base = ["notify", idx.as_str()];
    let target = match (&n.webhook, &n.dispatch) {
        (Some(url), None) => NotifyTarget::Webhook {
            url: url.clone(),
            format: v.choice(
                &["notify", &idx, "format"],
                n.format.as_deref(),
                &[
                    ("json", NotifyFormat::Json),
                    ("slack", NotifyFormat::Slack),
                    ("discord", NotifyFormat::Discord),
                ],
                NotifyFormat::Json,
            ),
            token_env: n.token_env.clone(),
            secret_env: n.secret_env.clone(),
        },
        (None, Some(wf)) => NotifyTarget::Dispatch {
            workflow: wf.clone(),
            git_ref: n.git_ref.clone(),
            inputs: n.inputs.clone(),
        },
        _ => {
            v.error(
                &base,
                "a notification needs exactly one of `webhook` or `dispatch`",
                None,
            );
            return None;
        }
    };
    let mut on: Vec<NotifyOn> = Vec::new();
    // `on: notify` or `on: [deploy-success, notify]`; where a value is, for its error.
    let (named_on, listed): (Vec<String>, bool) = match &n.on {
        None => (Vec::new(), false),
        Some(StringOrList::One(s)) => (vec![s.clone()], false),
        Some(StringOrList::Many(v)) => (v.clone(), true),
    };
    if named_on.is_empty() {
        on.extend(NotifyOn::ALL.iter().map(|(_, e)| *e));
    }
    for (j, o) in named_on.iter().enumerate() {
        let j = j.to_string();
        let at: Vec<&str> = if listed {
            vec!["notify", &idx, "on", &j]
        } else {
            vec!["notify", &idx, "on"]
        };
        let named: Vec<NotifyOn> = match o.as_str() {
            "success" => vec![
                NotifyOn::DeploySuccess,
                NotifyOn::PromoteSuccess,
                NotifyOn::Notify,
            ],
            "failure" => vec![NotifyOn::DeployFailure, NotifyOn::PromoteFailure],
            other => match NotifyOn::ALL.iter().find(|(name, _)| *name == other) {
                Some((_, e)) => vec![*e],
                None => {
                    let mut names: Vec<&str> = NotifyOn::ALL.iter().map(|(n, _)| *n).collect();
                    names.extend(["success", "failure"]);
                    v.error(
                        &at,
                        format!("`{other}` is not an event a notification fires on"),
                        Some(super::suggest::one_of(other, &names)),
                    );
                    vec![]
                }
            },
        };
        for e in named {
            if !on.contains(&e) {
                on.push(e);
            }
        }
    }
    on.sort();
    Some(Notify {
        target,
        environments: n.environments.clone(),
        on,
    })
}

fn check_config(v: &mut Validator, c: RawCheck) -> CheckConfig {
    let d = CheckConfig::default();
    for (i, key) in c.parity_may_differ.iter().enumerate() {
        if c.parity_must_match.contains(key) {
            let idx = i.to_string();
            v.error(
                &["check", "parity-may-differ", &idx],
                format!("`{key}` is listed both as may differ and as must match"),
                Some("keep it in one of `parity-may-differ` and `parity-must-match`".into()),
            );
        }
    }
    // The lists extend the built-in ones. A key listed in one leaves the other's built-ins:
    // that is how to narrow (`parity-must-match: [vm]` makes a VM size difference an error).
    let extend = |builtin: Vec<String>, own: &[String], other: &[String]| {
        let mut out: Vec<String> = builtin.into_iter().filter(|k| !other.contains(k)).collect();
        for key in own {
            if !out.contains(key) {
                out.push(key.clone());
            }
        }
        out
    };
    CheckConfig {
        parity_must_match: extend(
            d.parity_must_match,
            &c.parity_must_match,
            &c.parity_may_differ,
        ),
        parity_may_differ: extend(
            d.parity_may_differ,
            &c.parity_may_differ,
            &c.parity_must_match,
        ),
        dockerfile_errors: c.dockerfile_errors.unwrap_or(false),
        fly_toml: c.fly_toml,
        workflows: if c.workflows.is_empty() {
            d.workflows
        } else {
            c.workflows
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    const GOOD: &str = r#"
version: 1
environments:
  staging: {}
  production:
    requires: staging
    soak: 10m
    tags: ["v*.*.*"]
defaults:
  fly:
    config: "infra/fly/{app}/{env}/fly.toml"
apps:
  api:
    environments:
      staging:
        fly: {}
      production:
        fly:
          strategy: bluegreen
        health:
          probes:
            - url: https://api.example.com/healthz
              expect-status: "200-299"
"#;

    #[test]
    fn bad_probe_urls_and_bare_numbers_are_caught_at_their_value() {
        let text = GOOD
            .replace(
                "https://api.example.com/healthz",
                "ftp://api.example.com/healthz",
            )
            .replace("soak: 10m", "soak: \"30\"");
        let err = parse(&text, Path::new("c.yml")).unwrap_err();
        let messages: Vec<String> = err.0.iter().map(|d| d.message.clone()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`ftp://api.example.com/healthz` is not http or https")),
            "{messages:?}"
        );
        assert!(
            err.0
                .iter()
                .any(|d| d.message.starts_with("`30` has no unit")
                    && d.help.as_deref() == Some("write `30s` for seconds or `30m` for minutes")),
            "{messages:?}"
        );
        // Templates stand for run-time values and are fine.
        assert!(probe_url_shape("https://{app}-{env}.fly.dev/healthz?t=${TOKEN}").is_ok());
        assert!(probe_url_shape("localhost:8080/healthz").is_err());
    }

    #[test]
    fn a_good_config_resolves_defaults() {
        let c = parse(GOOD, Path::new("c.yml")).unwrap();
        let prod = &c.apps["api"].environments["production"];
        let ProviderConfig::Fly(f) = &prod.provider else {
            panic!()
        };
        assert_eq!(
            f.config.as_deref(),
            Some(Path::new("infra/fly/api/production/fly.toml"))
        );
        assert_eq!(f.strategy, FlyStrategy::Bluegreen);
        assert_eq!(c.policy("production").soak, Duration::from_secs(600));
        assert_eq!(
            prod.health.probes[0].expect_status,
            vec![StatusRange { from: 200, to: 299 }]
        );
    }

    #[test]
    fn bad_enum_value_suggests_and_points_at_the_line() {
        let text = GOOD.replace("bluegreen", "bluegren");
        let err = parse(&text, Path::new("c.yml")).unwrap_err();
        let d = &err.0[0];
        assert!(
            d.message.contains("`bluegren` is not a valid value"),
            "{}",
            d.message
        );
        assert_eq!(
            d.help.as_deref(),
            Some("did you mean `bluegreen`? (expected one of `rolling`, `immediate`, `canary`, `bluegreen`)")
        );
        assert_eq!(
            d.location.source_line.as_deref(),
            Some("          strategy: bluegren")
        );
    }

    #[test]
    fn a_soak_in_months_is_refused_at_its_value_with_the_lowercase_form() {
        let text = GOOD.replace("soak: 10m", "soak: 15M");
        let err = parse(&text, Path::new("c.yml")).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        let d = &err.0[0];
        assert_eq!(
            d.message,
            "`15M` is in months (`M` is months) (at `environments.production.soak`)"
        );
        assert_eq!((d.location.line, d.location.column), (7, 11));
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `15m`?"),
            "{:?}",
            d.help
        );
        let text = GOOD.replace(
            "expect-status: \"200-299\"",
            "expect-status: \"200-299\"\n          deadline: 30d",
        );
        let err = parse(&text, Path::new("c.yml")).unwrap_err();
        assert!(err.0[0].message.contains("longer than 7 days"), "{err}");
    }

    #[test]
    fn a_path_with_backslashes_says_to_use_forward_slashes() {
        let text = GOOD.replace(
            "\"infra/fly/{app}/{env}/fly.toml\"",
            "infra\\fly\\{app}\\fly.toml",
        );
        let err = parse(&text, Path::new("c.yml")).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        let d = &err.0[0];
        assert_eq!(
            d.message,
            "`infra\\fly\\{app}\\fly.toml` separates folders with `\\` (at `defaults.fly.config`)"
        );
        assert_eq!((d.location.line, d.location.column), (11, 13));
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .starts_with("write `infra/fly/{app}/fly.toml`"),
            "{:?}",
            d.help
        );
    }

    #[test]
    fn parity_lists_extend_the_built_in_ones_and_narrow_them() {
        let text = format!(
            "{GOOD}check:\n  parity-may-differ: [env.FEATURE]\n  parity-must-match: [vm]\n"
        );
        let c = parse(&text, Path::new("c.yml")).unwrap();
        let may = &c.check.parity_may_differ;
        assert!(may.contains(&"app".to_string()), "{may:?}");
        assert!(may.contains(&"env.FEATURE".to_string()), "{may:?}");
        assert!(!may.contains(&"vm".to_string()), "{may:?}");
        let must = &c.check.parity_must_match;
        assert!(must.contains(&"vm".to_string()) && must.contains(&"checks".to_string()));
        let both = format!("{GOOD}check:\n  parity-may-differ: [vm]\n  parity-must-match: [vm]\n");
        let err = parse(&both, Path::new("c.yml")).unwrap_err();
        assert!(err.0[0].message.contains("listed both"), "{err}");
    }

    #[test]
    fn every_error_is_reported() {
        let text = GOOD
            .replace("soak: 10m", "soak: soon")
            .replace("requires: staging", "requires: stagin");
        let err = parse(&text, Path::new("c.yml")).unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
    }

    #[test]
    fn two_providers_are_refused() {
        let text = "version: 1\napps:\n  a:\n    environments:\n      s:\n        fly: {}\n        command: {run: x}\n";
        let err = parse(text, Path::new("c.yml")).unwrap_err();
        assert!(err.0[0].message.contains("2 providers"));
        assert_eq!(err.0[0].location.line, 5);
    }

    #[test]
    fn a_bad_json_assertion_path_points_at_its_key() {
        let text = GOOD.replace(
            "              expect-status: \"200-299\"",
            "              json: {\"version\": \"{version}\"}",
        );
        let err = parse(&text, Path::new("c.yml")).unwrap_err();
        let d = &err.0[0];
        assert!(d.message.contains("starts with `$`"), "{}", d.message);
        assert!(
            d.message.contains("health.probes.0.json.version"),
            "{}",
            d.message
        );
        assert!(d.location.line >= 21, "{d:?}");
    }

    #[test]
    fn status_sets() {
        let v: serde_json::Value = serde_json::json!([200, "3xx", "401-403"]);
        let s = parse_status_set(Some(&v)).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[1], StatusRange { from: 300, to: 399 });
        assert!(parse_status_set(Some(&serde_json::json!("abc"))).is_err());
    }
}
