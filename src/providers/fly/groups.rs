//! Which machines a deploy updates, leaves alone, creates and destroys — decided before any
//! call that changes something, so the plan can say it first (flyctl's
//! `resolveProcessGroupChanges`).
//!
//! - a machine whose config already equals the target config is left alone (a re-run changes
//!   nothing);
//! - a process group in fly.toml without a machine gets one;
//! - machines of a group fly.toml no longer defines are destroyed — after the update
//!   succeeded, so a failed deploy destroys nothing;
//! - flyctl's own ephemeral machines (`fly_app_*` groups: release command, console) are never
//!   targets.

use super::api::{is_flyctl_group, Machine};
use super::desired::Desired;
use crate::providers::ProviderError;

#[derive(Debug, Default)]
pub(crate) struct GroupPlan {
    pub update: Vec<Machine>,
    pub current: Vec<Machine>,
    /// Groups that need a first machine, by name.
    pub create: Vec<String>,
    pub destroy: Vec<Machine>,
}

impl GroupPlan {
    pub(crate) fn changes_nothing(&self) -> bool {
        self.update.is_empty() && self.create.is_empty() && self.destroy.is_empty()
    }
}

/// `machines`: the app's machines (any state). `only`: the groups the stage-gate config
/// restricts the deploy to (empty = all).
pub(crate) fn plan(
    machines: Vec<Machine>,
    desired: &Desired,
    only: &[String],
) -> Result<GroupPlan, ProviderError> {
    let in_scope = |g: &str| only.is_empty() || only.iter().any(|o| o == g);
    let groups_in_toml: Option<Vec<String>> = desired.toml.as_ref().map(|t| t.process_names());
    let mut p = GroupPlan::default();
    let mut seen: Vec<String> = Vec::new();
    for m in machines {
        if matches!(m.state.as_str(), "destroyed" | "destroying") {
            continue;
        }
        let group = m.group().to_string();
        if is_flyctl_group(&group) || !in_scope(&group) {
            continue;
        }
        if let Some(groups) = &groups_in_toml {
            if !groups.contains(&group) {
                p.destroy.push(m);
                continue;
            }
        }
        seen.push(group);
        if desired.is_current(&m)? {
            p.current.push(m);
        } else {
            p.update.push(m);
        }
    }
    for g in groups_in_toml.into_iter().flatten() {
        if in_scope(&g) && !seen.contains(&g) {
            p.create.push(g);
        }
    }
    p.destroy.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appconfig::AppConfig;
    use serde_json::json;
    use std::path::Path;
    use std::sync::Arc;

    fn m(id: &str, group: &str, image: &str) -> Machine {
        serde_json::from_value(json!({"id": id, "state": "started",
            "config": {"image": image, "metadata": {"fly_process_group": group}}}))
        .unwrap()
    }

    #[test]
    fn groups_are_updated_created_and_destroyed_as_fly_toml_says() {
        let t = AppConfig::parse(
            "[processes]\nweb = 'serve'\nworker = 'work'\n",
            Path::new("."),
        )
        .unwrap();
        let d = Desired::new("img:2", Some(Arc::new(t)));
        let current = d
            .config_for(&json!({"metadata": {"fly_process_group": "web"}}))
            .unwrap();
        let mut same: Machine = m("a", "web", "img:2");
        same.config = current;
        let p = plan(
            vec![
                same,
                m("b", "web", "img:1"),
                m("c", "old", "img:1"),
                m("r", "fly_app_release_command", "img:1"),
            ],
            &d,
            &[],
        )
        .unwrap();
        let ids = |v: &[Machine]| v.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&p.current), ["a"]);
        assert_eq!(ids(&p.update), ["b"]);
        assert_eq!(ids(&p.destroy), ["c"]);
        assert_eq!(p.create, ["worker"]);
        // Restricted to `web`, the other groups are not touched.
        let p = plan(
            vec![m("b", "web", "img:1"), m("c", "old", "img:1")],
            &d,
            &["web".into()],
        )
        .unwrap();
        assert!(p.destroy.is_empty() && p.create.is_empty());
    }

    #[test]
    fn without_fly_toml_nothing_is_created_or_destroyed() {
        let d = Desired::new("img:2", None);
        let p = plan(
            vec![m("a", "app", "img:2"), m("b", "other", "img:1")],
            &d,
            &[],
        )
        .unwrap();
        assert_eq!(p.current.len(), 1);
        assert_eq!(p.update.len(), 1);
        assert!(p.create.is_empty() && p.destroy.is_empty());
    }
}
