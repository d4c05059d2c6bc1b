//! `docs/config.md`, the configuration reference: every key with its type and description,
//! read from the JSON Schema of the raw types (so it cannot drift from what is parsed), and
//! complete examples from `examples/` (each parsed by the loader in a test). A test fails when
//! the committed file differs from what this makes.

use serde_json::Value;

/// Where the reference is committed.
pub const DOC_PATH: &str = "docs/config.md";

/// (file, title, text) of each example, in the order the reference shows them.
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("fly.yml", "Fly.io", include_str!("examples/fly.yml")),
    (
        "coolify.yml",
        "Coolify",
        include_str!("examples/coolify.yml"),
    ),
    (
        "webhook.yml",
        "A deploy webhook",
        include_str!("examples/webhook.yml"),
    ),
    (
        "command.yml",
        "A command",
        include_str!("examples/command.yml"),
    ),
    (
        "previews.yml",
        "Previews per pull request",
        include_str!("examples/previews.yml"),
    ),
    (
        "defaults.yml",
        "`defaults` with `{app}` and `{env}`",
        include_str!("examples/defaults.yml"),
    ),
    (
        "anchors.yml",
        "Anchors, merge keys and `x-` keys",
        include_str!("examples/anchors.yml"),
    ),
    (
        "notify.yml",
        "`notify`",
        include_str!("examples/notify.yml"),
    ),
    (
        "release.yml",
        "`release`",
        include_str!("examples/release.yml"),
    ),
    ("notes.yml", "`notes`", include_str!("examples/notes.yml")),
    ("check.yml", "`check`", include_str!("examples/check.yml")),
];

const INTRO: &str = "# Configuration reference

<!-- Generated from the config types (src/config/raw.rs) and src/config/examples/: edit
     there, then run STAGE_GATE_BLESS=1 cargo test --lib config_reference_is_current -->

stage-gate reads `.github/stage-gate.yml` (or `.github/stage-gate.yaml`) from the repository
root; `--config PATH` (the action's `config` input, `STAGE_GATE_CONFIG` elsewhere) names
another file. `check` runs without one (and says so); `plan`, `deploy`, `promote`,
`rollback`, `health` without `--url` and `notify` without a target refuse to (exit 2). Its
JSON Schema, for editors, is [`stage-gate.schema.json`](../stage-gate.schema.json).

Everything wrong in the file is reported in one run, each problem at its line and column,
with exit code 2 and nothing deployed:

- **Unknown keys** are errors, with the key meant (`enviroments` → `environments`) or the
  block a key belongs in (`requires` goes under `environments.<env>`, not in an app's
  environment).
- **A key written twice** in one mapping is an error naming both places (YAML loaders keep
  the last one silently).
- **Durations** take a unit (`90s`, `10m`, `1h 30m`) and are at most 7 days: `15M` (months)
  is refused with \"did you mean `15m`?\".
- **Paths** are relative to the repository root and use `/` (`infra/fly/fly.toml`), on every
  runner.
- **YAML**: anchors, aliases and merge keys (`<<: *shared`, keys written beside it win) work;
  top-level keys starting with `x-` are yours and ignored; a UTF-8 byte-order mark is fine.

Precedence for settings that are also inputs: CLI flag > `INPUT_*` > `STAGE_GATE_*` env >
this file > default.
";

/// The whole reference, as committed.
pub fn markdown() -> String {
    let schema = super::schema::json_value();
    let mut out = String::from(INTRO);
    out.push_str("\n## Examples\n\nEach is a complete config (a test parses every one).\n");
    for (_, title, text) in EXAMPLES {
        out.push_str(&format!("\n### {title}\n\n```yaml\n{}```\n", text));
    }
    out.push_str("\n## Keys\n");
    for section in sections(&schema) {
        out.push_str(&format!("\n### {}\n\n", section.title()));
        if section.paths.len() > 1 {
            let also: Vec<String> = section.paths[1..]
                .iter()
                .map(|p| format!("`{p}`"))
                .collect();
            out.push_str(&format!("Also at {}.\n\n", also.join(", ")));
        }
        if let Some(d) = section.schema.get("description").and_then(Value::as_str) {
            out.push_str(&one_line(d));
            out.push_str("\n\n");
        }
        out.push_str("| key | type | description |\n|---|---|---|\n");
        let required: Vec<&str> = section
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (key, prop) in properties(section.schema) {
            let mut ty = type_of(&schema, prop);
            if required.contains(&key.as_str()) {
                ty.push_str(", **required**");
            }
            let description = prop
                .get("description")
                .and_then(Value::as_str)
                .map(one_line)
                .unwrap_or_default();
            out.push_str(&format!(
                "| `{key}` | {ty} | {} |\n",
                description.replace('|', "\\|")
            ));
        }
    }
    out
}

/// The examples, for the test that parses them.
#[cfg(test)]
pub(crate) fn examples() -> impl Iterator<Item = (&'static str, &'static str)> {
    EXAMPLES.iter().map(|(file, _, text)| (*file, *text))
}

/// One mapping of the config: its schema and every path it is written at.
struct Section<'a> {
    schema: &'a Value,
    paths: Vec<String>,
}

impl Section<'_> {
    fn title(&self) -> String {
        match self.paths[0].as_str() {
            "" => "Top level".to_string(),
            p => format!("`{p}`"),
        }
    }
}

/// Every mapping with keys and every path it is written at, ordered by path; a mapping
/// written in an app's environment and under `defaults` is named by the former.
fn sections(root: &Value) -> Vec<Section<'_>> {
    let mut out: Vec<Section> = vec![Section {
        schema: root,
        paths: vec![String::new()],
    }];
    // Until no path is new: each path of each mapping, extended by each key holding one.
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..out.len() {
            let (schema, paths) = (out[i].schema, out[i].paths.clone());
            for (key, prop) in properties(schema) {
                let Some((def, suffix)) = mapping_of(root, prop, key) else {
                    continue;
                };
                for path in &paths {
                    let dot = if path.is_empty() { "" } else { "." };
                    let at = format!("{path}{dot}{key}{suffix}");
                    match out.iter_mut().find(|s| std::ptr::eq(s.schema, def)) {
                        Some(s) if s.paths.contains(&at) => {}
                        Some(s) => {
                            s.paths.push(at);
                            changed = true;
                        }
                        None => {
                            out.push(Section {
                                schema: def,
                                paths: vec![at],
                            });
                            changed = true;
                        }
                    }
                }
            }
        }
    }
    for s in &mut out {
        s.paths
            .sort_by_key(|p| (p.starts_with("defaults"), p.clone()));
    }
    out.sort_by(|a, b| a.paths[0].cmp(&b.paths[0]));
    out
}

fn properties(s: &Value) -> impl Iterator<Item = (&String, &Value)> {
    s.get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// The definition with keys that a property holds (directly, as an option, as list items
/// or as the values of a mapping of names), and what its path adds after the key.
fn mapping_of<'a>(root: &'a Value, prop: &'a Value, key: &str) -> Option<(&'a Value, String)> {
    let def = |s: &'a Value| -> Option<&'a Value> {
        let s = deref(root, s);
        let s = match s.get("anyOf").and_then(Value::as_array) {
            Some(alts) => alts
                .iter()
                .map(|a| deref(root, a))
                .find(|a| a.get("properties").is_some())?,
            None => s,
        };
        s.get("properties").is_some().then_some(s)
    };
    if let Some(d) = def(prop) {
        return Some((d, String::new()));
    }
    if let Some(d) = prop.get("items").and_then(def) {
        return Some((d, String::new()));
    }
    let name = match key {
        "apps" => ".<app>",
        "environments" => ".<env>",
        _ => ".<name>",
    };
    prop.get("additionalProperties")
        .and_then(def)
        .map(|d| (d, name.to_string()))
}

fn deref<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    s.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| root.pointer(p))
        .unwrap_or(s)
}

/// A value's type in words: `string`, `list of strings`, `mapping`, `string or list of strings`.
fn type_of(root: &Value, s: &Value) -> String {
    if let Some(b) = s.as_bool() {
        return if b {
            "any value".into()
        } else {
            "nothing".into()
        };
    }
    let s = deref(root, s);
    if s.get("properties").is_some() {
        return "mapping (below)".into();
    }
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        let kinds: Vec<String> = alts
            .iter()
            .filter(|a| a.get("type") != Some(&Value::from("null")))
            .map(|a| type_of(root, a))
            .collect();
        return kinds.join(" or ");
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => return "any value".into(),
    };
    match ty {
        "string" => "string".into(),
        "integer" => "integer".into(),
        "number" => "number".into(),
        "boolean" => "`true` or `false`".into(),
        "array" => {
            let item = s
                .get("items")
                .map_or("any value".into(), |i| type_of(root, i));
            format!("list of {}", plural(&item))
        }
        "object" => match s.get("additionalProperties") {
            Some(v) => format!("mapping of names to {}", plural(&type_of(root, v))),
            None => "mapping".into(),
        },
        other => other.into(),
    }
}

fn plural(kind: &str) -> String {
    match kind {
        "string" | "integer" | "number" => format!("{kind}s"),
        "any value" => "any values".into(),
        "mapping (below)" => "mappings (below)".into(),
        other => other.into(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Each section's title and how many paths it is written at.
#[cfg(test)]
fn section_titles() -> std::collections::BTreeMap<String, usize> {
    let schema = super::schema::json_value();
    sections(&schema)
        .iter()
        .map(|s| (s.title(), s.paths.len()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn config_reference_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC_PATH);
        let current = markdown();
        if std::env::var_os("STAGE_GATE_BLESS").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == current,
            "{DOC_PATH} is out of date: run `STAGE_GATE_BLESS=1 cargo test --lib config_reference_is_current` and commit it"
        );
    }

    /// Every YAML block of the committed reference is a config the loader accepts.
    #[test]
    fn every_example_in_the_reference_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC_PATH);
        let text = std::fs::read_to_string(&path).unwrap();
        let blocks: Vec<&str> = text
            .split("```yaml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap_or(""))
            .collect();
        assert_eq!(blocks.len(), EXAMPLES.len(), "{DOC_PATH} lost an example");
        for (i, block) in blocks.iter().enumerate() {
            if let Err(e) = crate::config::parse(block, Path::new(EXAMPLES[i].0)) {
                panic!(
                    "example {} of {DOC_PATH} does not parse:\n{e}",
                    EXAMPLES[i].0
                );
            }
        }
        // One per provider.
        for provider in ["fly:", "coolify:", "webhook:", "command:"] {
            assert!(
                examples().any(|(_, t)| t.contains(provider)),
                "no example with {provider}"
            );
        }
    }

    #[test]
    fn every_mapping_of_the_config_has_a_section() {
        let titles = section_titles();
        for t in [
            "Top level",
            "`release`",
            "`environments.<env>`",
            "`apps.<app>`",
            "`apps.<app>.environments.<env>`",
            "`apps.<app>.environments.<env>.fly`",
            "`apps.<app>.environments.<env>.health.probes`",
            "`notify`",
            "`check`",
        ] {
            assert!(titles.contains_key(t), "{t}: {titles:?}");
        }
        // A target is written in an app's environment and under `defaults`.
        assert_eq!(titles["`apps.<app>.environments.<env>`"], 2);
    }
}
