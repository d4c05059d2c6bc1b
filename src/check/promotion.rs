//! Would production run what staging proved? A Fly target of a production environment with
//! no image of its own and no `requires:` builds anew with flyctl on every deploy; with
//! `requires:` it deploys the digest the required environment ran (the Machines API, no
//! flyctl), unless `allow-rebuild: true` lets a record without an artifact build anew.

use super::{config_error, read, Request};
use crate::config::ProviderConfig;
use crate::report::{Diagnostic, Severity};

pub fn rebuilding_targets(req: &Request) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for app in req.config.apps.values() {
        for (env, target) in &app.environments {
            let ProviderConfig::Fly(f) = &target.provider else {
                continue;
            };
            let policy = req.config.policy(env);
            if !policy.production {
                continue;
            }
            let builds =
                f.image.is_none() && f.config.as_ref().is_none_or(|p| !names_build_image(req, p));
            if policy.requires.is_none() && builds {
                let mut d = config_error(
                    req,
                    &["apps", &app.name, "environments", env, "fly"],
                    "config/production-rebuilds",
                    format!(
                        "{}/{env} builds a new image with flyctl on every deploy: nothing ties \
                         it to what another environment ran and proved",
                        app.name
                    ),
                );
                d.severity = Severity::Warning;
                d.help = Some(format!(
                    "add `requires: staging` under environments.{env}: production then deploys \
                     the digest staging ran, through the Machines API (no flyctl, no build)"
                ));
                out.push(d);
            } else if policy.requires.is_some() && policy.allow_rebuild {
                let mut d = config_error(
                    req,
                    &["environments", env, "allow-rebuild"],
                    "config/production-rebuilds",
                    format!(
                        "environments.{env}.allow-rebuild is true: when the `{}` record of a \
                         commit names no artifact, {}/{env} is built anew instead of refused",
                        policy.requires.as_deref().unwrap_or("?"),
                        app.name
                    ),
                );
                d.severity = Severity::Notice;
                d.help = Some(
                    "remove `allow-rebuild` once every proving deploy records its artifact (any \
                     deploy by this stage-gate does)"
                        .into(),
                );
                out.push(d);
            }
        }
    }
    out
}

/// Whether the fly.toml at `path` names a prebuilt image (`[build] image`).
fn names_build_image(req: &Request, path: &std::path::Path) -> bool {
    let rel = super::relative(req.root, path);
    read(req.root, &rel)
        .ok()
        .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok())
        .is_some_and(|d| d.get("build").and_then(|b| b.get("image")).is_some())
}
