//! The JSON Schema of the config, generated from the raw types. Committed as
//! `stage-gate.schema.json`; a test fails when the committed copy drifts.

pub fn json_schema() -> String {
    // Printed from the schema itself: its key order, not a JSON map's sorted one.
    let schema = schemars::schema_for!(super::raw::RawConfig);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema as a JSON value (what the unknown-key walk reads).
pub fn json_value() -> serde_json::Value {
    schemars::schema_for!(super::raw::RawConfig).to_value()
}

/// Whether a dotted path (`check.parity-may-differ`, `fly.config`,
/// `environments.<env>.soak`) names a key of the config, from the top or from any mapping in
/// it; a segment under a mapping of names (`apps`, `environments`, `headers`) may be any name.
pub fn is_key_path(path: &str) -> bool {
    let schema = json_value();
    let mut starts = vec![&schema];
    if let Some(defs) = schema.get("$defs").and_then(|d| d.as_object()) {
        starts.extend(defs.values());
    }
    let segments: Vec<&str> = path.split('.').collect();
    starts.into_iter().any(|s| walks(&schema, s, &segments))
}

fn walks(root: &serde_json::Value, s: &serde_json::Value, segments: &[&str]) -> bool {
    use super::unknown_keys::{items_schema, object_schemas};
    let Some((first, rest)) = segments.split_first() else {
        return true;
    };
    // A list of mappings is walked into its items (`notify.webhook`).
    let nodes: Vec<&serde_json::Value> = std::iter::once(s).chain(items_schema(root, s)).collect();
    nodes
        .into_iter()
        .flat_map(|n| object_schemas(root, n))
        .any(|o| {
            let named = o.get("properties").and_then(|p| p.get(*first));
            let any_name = o.get("additionalProperties").filter(|a| a.is_object());
            named
                .or(any_name)
                .is_some_and(|next| walks(root, next, rest))
        })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn key_paths_are_found_from_the_top_or_from_any_mapping() {
        for good in [
            "check.parity-may-differ",
            "check.parity-must-match",
            "fly.config",
            "fly.process-groups",
            "environments.<env>.soak",
            "apps.web.environments.staging.health.probes.expect-status",
            "notify.webhook",
        ] {
            assert!(super::is_key_path(good), "{good}");
        }
        for bad in [
            "parity.allow",
            "parity.must-match",
            "fly.configs",
            "check.parity",
        ] {
            assert!(!super::is_key_path(bad), "{bad}");
        }
    }

    /// Every config key the documentation and the rules' help name (`check.parity-may-differ`,
    /// `fly.config`) is a key of the schema: a key renamed or never real cannot linger in the
    /// README, docs/*.md or the help SARIF carries. Dotted kebab-case words in backticks are
    /// taken as config keys, except file and host names, fly.toml keys and the settings of
    /// other tools below.
    #[test]
    fn every_config_key_the_docs_and_rule_help_name_is_real() {
        // Dotted names of other tools' settings that read like config keys, and the contexts
        // of GitHub's expressions (`github.event`).
        const OTHER_TOOLS: &[&str] = &["init.cmd", "strategy.matrix"];
        const CONTEXTS: &[&str] = &[
            "github", "secrets", "inputs", "vars", "steps", "needs", "matrix", "runner", "job",
            "jobs",
        ];
        const NOT_KEYS: &[&str] = &[
            "toml", "yml", "yaml", "json", "md", "sh", "tsv", "rs", "txt", "git", "dev", "io",
            "com", "org", "net", "example",
        ];
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts: Vec<(String, String)> = Vec::new();
        let mut files = vec![root.join("README.md")];
        for e in std::fs::read_dir(root.join("docs")).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "md") {
                files.push(e.path());
            }
        }
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            texts.push((f.display().to_string(), text));
        }
        for r in crate::report::rules::RULES {
            texts.push((
                format!("rule {}", r.id),
                format!("{} {} {}", r.short, r.full, r.fix),
            ));
        }
        let token =
            regex::Regex::new(r"`([a-z][a-z0-9-]*(?:\.(?:[a-z][a-z0-9-]*|<[a-z]+>|\{[a-z]+\}))+)`")
                .unwrap();
        let mut checked = 0;
        for (source, text) in &texts {
            for c in token.captures_iter(text) {
                let path = &c[1];
                let last = path.rsplit('.').next().unwrap_or("");
                let first = path.split('.').next().unwrap_or("");
                let fly_toml_key = crate::check::fly_schema::type_at(path).is_some();
                if NOT_KEYS.contains(&last)
                    || OTHER_TOOLS.contains(&path)
                    || CONTEXTS.contains(&first)
                    || fly_toml_key
                {
                    continue;
                }
                checked += 1;
                assert!(
                    super::is_key_path(path),
                    "{source} names `{path}`, which is not a key of stage-gate.schema.json"
                );
            }
        }
        assert!(checked >= 3, "only {checked} config keys found in the docs");
    }
    #[test]
    fn committed_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/stage-gate.schema.json");
        let current = super::json_schema();
        if std::env::var_os("STAGE_GATE_BLESS").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == current,
            "stage-gate.schema.json is out of date: run `STAGE_GATE_BLESS=1 cargo test committed_schema` and commit it"
        );
    }
}
