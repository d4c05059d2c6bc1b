//! Which git refs may deploy to an environment (`branches:` and `tags:` globs).

use crate::config::EnvironmentPolicy;
use globset::Glob;

fn matches(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| {
        Glob::new(p)
            .map(|g| g.compile_matcher().is_match(name))
            .unwrap_or(p == name)
    })
}

/// Ok when `git_ref` may deploy under `policy`; the reason when not.
pub fn allowed(policy: &EnvironmentPolicy, git_ref: Option<&str>) -> Result<(), String> {
    if policy.branches.is_empty() && policy.tags.is_empty() {
        return Ok(());
    }
    let env = &policy.name;
    let rules = || {
        let mut r = Vec::new();
        if !policy.branches.is_empty() {
            r.push(format!("branches {}", policy.branches.join(", ")));
        }
        if !policy.tags.is_empty() {
            r.push(format!("tags {}", policy.tags.join(", ")));
        }
        r.join("; ")
    };
    match git_ref {
        Some(r) if r.starts_with("refs/heads/") => {
            let branch = &r["refs/heads/".len()..];
            if matches(&policy.branches, branch) {
                Ok(())
            } else {
                Err(format!(
                    "branch `{branch}` may not deploy to `{env}` (allowed: {})",
                    rules()
                ))
            }
        }
        Some(r) if r.starts_with("refs/tags/") => {
            let tag = &r["refs/tags/".len()..];
            if matches(&policy.tags, tag) {
                Ok(())
            } else {
                Err(format!(
                    "tag `{tag}` may not deploy to `{env}` (allowed: {})",
                    rules()
                ))
            }
        }
        Some(other) => Err(format!(
            "ref `{other}` may not deploy to `{env}` (allowed: {})",
            rules()
        )),
        None => Err(format!(
            "cannot tell which ref is deploying (GITHUB_REF is unset) and `{env}` allows only {}",
            rules()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(branches: &[&str], tags: &[&str]) -> EnvironmentPolicy {
        let mut p = EnvironmentPolicy::default_for("production");
        p.branches = branches.iter().map(|s| s.to_string()).collect();
        p.tags = tags.iter().map(|s| s.to_string()).collect();
        p
    }

    #[test]
    fn tags_and_branches() {
        let p = policy(&["main"], &["v*.*.*"]);
        assert!(allowed(&p, Some("refs/tags/v1.2.3")).is_ok());
        assert!(allowed(&p, Some("refs/heads/main")).is_ok());
        let e = allowed(&p, Some("refs/heads/feature")).unwrap_err();
        assert!(
            e.contains("branch `feature` may not deploy to `production`"),
            "{e}"
        );
        assert!(allowed(&policy(&[], &["v*.*.*"]), Some("refs/heads/main")).is_err());
        assert!(allowed(&policy(&[], &[]), None).is_ok());
        assert!(allowed(&p, None).is_err());
    }
}
