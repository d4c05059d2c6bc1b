//! Environments per pull request (`per-pull-request: true`): the `{pr}` template in app
//! names, URLs and probe URLs, what the config must say for a preview to be creatable, and a
//! target with the template filled in for one pull request.
//!
//! The checks run in `validate`, so `stage-gate check` reports them at the value: an app name
//! must hold `{pr}` (else every pull request would share, and tear down, one app) and, with a
//! six-digit number in it, still be a DNS label of at most 63 characters (Fly app names are
//! host names under `fly.dev`).

use super::model::{App, EnvironmentPolicy, ProviderConfig, Target};
use super::validate::Validator;
use std::collections::BTreeMap;
use std::time::Duration;

/// The placeholder a pull request's number takes.
pub(crate) const PR: &str = "{pr}";

/// The longest a preview may live between deploys.
pub const MAX_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// The widest pull request number the names must still fit (GitHub numbers pass 100 000).
const WIDEST_PR: u64 = 999_999;

/// The most characters of a DNS label (and of a Fly app name).
pub const MAX_LABEL: usize = 63;

/// Whether `name` is a DNS label: lowercase letters, digits and inner hyphens, 1–63 long.
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LABEL
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// `template` with `{pr}` replaced by `pr`.
pub(crate) fn expand(template: &str, pr: u64) -> String {
    template.replace(PR, &pr.to_string())
}

impl Target {
    /// This target for pull request `pr`: `{pr}` filled in the app name, the image (Fly's,
    /// Coolify's preview image), the URL and every probe URL.
    pub(crate) fn for_pull_request(&self, pr: u64) -> Target {
        let mut t = self.clone();
        t.url = t.url.map(|u| expand(&u, pr));
        for p in &mut t.health.probes {
            p.url = expand(&p.url, pr);
        }
        match &mut t.provider {
            ProviderConfig::Fly(f) => {
                f.app = f.app.as_deref().map(|a| expand(a, pr));
                f.image = f.image.as_deref().map(|i| expand(i, pr));
            }
            ProviderConfig::Coolify(c) => {
                c.url = c.url.as_deref().map(|u| expand(u, pr));
                c.preview_image = c.preview_image.as_deref().map(|i| expand(i, pr));
            }
            ProviderConfig::Webhook(_) | ProviderConfig::Command(_) => {}
        }
        t
    }
}

/// Every problem with `{pr}` and per-pull-request targets, at the value.
pub(crate) fn check_templates(
    v: &mut Validator,
    environments: &BTreeMap<String, EnvironmentPolicy>,
    apps: &BTreeMap<String, App>,
) {
    for (name, p) in environments.iter().filter(|(_, p)| p.per_pull_request) {
        if p.requires.is_some() {
            v.error(
                &["environments", name, "requires"],
                "a per-pull-request environment runs each pull request's own commits: nothing proves them first",
                Some("remove `requires:` here; promotions go from staging to production".into()),
            );
        }
        if p.sweep_limit == 0 {
            v.error(
                &["environments", name, "sweep-limit"],
                "`sweep-limit: 0` would let no sweep remove anything",
                Some("give at least 1 (default 10)".into()),
            );
        }
    }
    for app in apps.values() {
        for (env, target) in &app.environments {
            let per_pr = environments.get(env).is_some_and(|p| p.per_pull_request);
            let base = ["apps", app.name.as_str(), "environments", env.as_str()];
            if per_pr {
                preview_target(v, &base, target);
            } else {
                stray_templates(v, &base, env, target);
            }
        }
    }
}

fn at<'a>(base: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(rest).copied().collect()
}

fn preview_target(v: &mut Validator, base: &[&str], target: &Target) {
    match &target.provider {
        ProviderConfig::Fly(f) => {
            let Some(app) = &f.app else {
                v.error(
                    &at(base, &["fly"]),
                    "a per-pull-request Fly target needs `app`, with `{pr}` in it",
                    Some("e.g. `app: \"web-pr-{pr}\"`: each pull request gets its own app".into()),
                );
                return;
            };
            app_name(v, &at(base, &["fly", "app"]), app);
            secret_names(v, &at(base, &["fly", "secrets"]), &f.secrets, &f.token_env);
            if f.org.is_none() {
                v.error(
                    &at(base, &["fly"]),
                    "a per-pull-request Fly target needs `org`: the organisation previews are created and swept in",
                    Some("e.g. `org: acme` (the slug `fly orgs list` shows)".into()),
                );
            }
        }
        ProviderConfig::Coolify(c) => {
            if c.uuids.len() != 1 || c.webhook.is_some() || c.tag.is_some() {
                v.error(
                    &at(base, &["coolify"]),
                    "a per-pull-request Coolify target is one application: `uuid` and `url`, no `tag` or `webhook`",
                    Some("Coolify deploys the preview of that application for the pull request".into()),
                );
            }
        }
        ProviderConfig::Webhook(_) | ProviderConfig::Command(_) => v.error(
            base,
            format!(
                "previews run on Fly or Coolify; `{}` cannot create an environment per pull request",
                target.provider.kind()
            ),
            Some("use `fly:` or `coolify:` here, or drop `per-pull-request` from the environment".into()),
        ),
    }
}

/// The names `fly.secrets` sets on a preview app: variable names, and never a credential of
/// stage-gate's (an organisation's Fly token inside code a pull request controls).
fn secret_names(v: &mut Validator, path: &[&str], names: &[String], token_env: &str) {
    const CREDENTIALS: [&str; 4] = [
        "FLY_API_TOKEN",
        "COOLIFY_TOKEN",
        "GITHUB_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
    ];
    for (i, name) in names.iter().enumerate() {
        let idx = i.to_string();
        let mut p = path.to_vec();
        p.push(&idx);
        let is_var = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_var {
            v.error(
                &p,
                format!(
                    "`{name}` is not an environment variable name (Fly refuses it as a secret)"
                ),
                Some(format!(
                    "letters, digits and `_`, e.g. `{}`",
                    name.to_ascii_uppercase().replace(['-', '.'], "_")
                )),
            );
        } else if CREDENTIALS.contains(&name.as_str())
            || name == token_env
            || name.starts_with("STAGE_GATE_")
        {
            v.error(
                &p,
                format!("`{name}` is a credential of the job: set on a preview app, it would run inside code a pull request controls"),
                Some("give previews their own, narrower secrets (e.g. a preview database's URL)".into()),
            );
        }
    }
}

/// A Fly app name template: holds `{pr}`, and is a DNS label for any pull request.
fn app_name(v: &mut Validator, path: &[&str], template: &str) {
    if !template.contains(PR) && template.to_ascii_lowercase().contains(PR) {
        v.error(
            path,
            format!("`{template}` has the placeholder in capitals: it is filled in only as `{PR}`"),
            Some(format!(
                "write `{}`",
                regex::Regex::new(r"(?i)\{pr\}").map_or_else(
                    |_| template.to_string(),
                    |re| re.replace_all(template, PR).into_owned()
                )
            )),
        );
        return;
    }
    if !template.contains(PR) {
        v.error(
            path,
            format!("`{template}` has no `{PR}`: every pull request would deploy to (and tear down) the same app"),
            Some(format!("e.g. `{template}-pr-{PR}`")),
        );
        return;
    }
    let widest = expand(template, WIDEST_PR);
    if widest.len() > MAX_LABEL {
        v.error(
            path,
            format!(
                "`{template}` is {} characters for pull request {WIDEST_PR}, over the {MAX_LABEL} a Fly app name (a DNS label) may have",
                widest.len()
            ),
            Some("shorten the fixed part of the name".into()),
        );
    } else if !is_dns_label(&widest) {
        v.error(
            path,
            format!("`{template}` is not a DNS label (`{widest}` for pull request {WIDEST_PR})"),
            Some("use lowercase letters, digits and inner hyphens only".into()),
        );
    }
}

/// `{pr}` outside a per-pull-request environment would never be filled in.
fn stray_templates(v: &mut Validator, base: &[&str], env: &str, target: &Target) {
    let help = || {
        Some(format!(
            "set `per-pull-request: true` under `environments.{env}`, or write the name out"
        ))
    };
    let why = format!("`{PR}` is filled in only in an environment with `per-pull-request: true`");
    if let ProviderConfig::Fly(f) = &target.provider {
        if f.app.as_deref().is_some_and(|a| a.contains(PR)) {
            v.error(&at(base, &["fly", "app"]), why.clone(), help());
        }
        if !f.secrets.is_empty() {
            v.error(
                &at(base, &["fly", "secrets"]),
                format!("`fly.secrets` is set on a preview's app only: `{env}` is not per pull request"),
                Some("set the app's secrets with `fly secrets set`, or move this under the per-pull-request environment".into()),
            );
        }
        if f.image.as_deref().is_some_and(|a| a.contains(PR)) {
            v.error(&at(base, &["fly", "image"]), why.clone(), help());
        }
    }
    if target.url.as_deref().is_some_and(|u| u.contains(PR)) {
        v.error(&at(base, &["url"]), why.clone(), help());
    }
    for (i, p) in target.health.probes.iter().enumerate() {
        if p.url.contains(PR) {
            let idx = i.to_string();
            v.error(
                &at(base, &["health", "probes", &idx, "url"]),
                why.clone(),
                help(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("web-pr-42"));
        assert!(!is_dns_label("Web-pr-42"));
        assert!(!is_dns_label("web_pr"));
        assert!(!is_dns_label("-web"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert_eq!(expand("web-pr-{pr}", 7), "web-pr-7");
    }
}
