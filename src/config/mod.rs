//! The stage-gate config: `.github/stage-gate.yml` → raw form → validated [`Config`].
//!
//! Precedence for values that also exist as inputs (see `inputs.rs`):
//! CLI flag > `INPUT_*` > `STAGE_GATE_*` env > this file > built-in default.

pub mod locate;
pub mod model;
pub mod raw;
pub mod schema;
pub mod suggest;
pub mod unknown_keys;
mod validate;
pub mod yaml_tree;

pub use model::*;

use crate::report::{Diagnostic, Location};
use std::path::{Path, PathBuf};

/// Where the config is looked for, relative to the repository root.
pub const DEFAULT_PATHS: [&str; 2] = [".github/stage-gate.yml", ".github/stage-gate.yaml"];

/// A config problem, with its place in the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .0.iter().map(|d| d.render_human()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<Diagnostic>);

impl ConfigError {
    fn single(d: Diagnostic) -> Self {
        ConfigError(vec![d])
    }
}

/// Find the config file: `explicit` if given, else the default paths under `root`.
pub fn discover(root: &Path, explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(if p.is_absolute() {
            p.to_path_buf()
        } else {
            root.join(p)
        });
    }
    DEFAULT_PATHS
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file())
}

/// Load and validate the config at `path`; `display` is the path shown in messages.
pub fn load(path: &Path, display: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::single(Diagnostic::error(
            "config/unreadable",
            format!("cannot read the config file: {e}"),
            Location::new(display, 0, 0),
        ))
    })?;
    parse(&text, display)
}

/// Parse and validate config text, reporting everything wrong in one run: each unknown key,
/// each value of the wrong type, each invalid value, at the value's own line and column.
pub fn parse(text: &str, display: &Path) -> Result<Config, ConfigError> {
    let tree = yaml_tree::parse(text).map_err(|e| {
        ConfigError::single(
            Diagnostic::error(
                "config/invalid",
                format!("not valid YAML: {}", e.message),
                Location::new(display, e.pos.line, e.pos.col).with_source(text),
            )
            .with_help("fix the YAML at this line (indentation, an unclosed bracket or quote)"),
        )
    })?;
    let (mut json, unknown) = unknown_keys::strip(&tree, config_schema());
    let mut diags: Vec<Diagnostic> = unknown
        .iter()
        .map(|u| {
            unknown_key(
                &u.key,
                &u.expected,
                Location::new(display, u.pos.line, u.pos.col).with_source(text),
            )
        })
        .collect();
    let Some(raw) = decode(&mut json, &tree, text, display, &mut diags) else {
        return Err(ConfigError(diags));
    };
    match validate::validate(raw, text, &tree, display) {
        Ok(config) if diags.is_empty() => Ok(config),
        Ok(_) => Err(ConfigError(diags)),
        Err(ConfigError(more)) => {
            diags.extend(more);
            diags.sort_by_key(|d| (d.location.line, d.location.column));
            Err(ConfigError(diags))
        }
    }
}

fn config_schema() -> &'static serde_json::Value {
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(schema::json_value)
}

/// Decode into the raw types; a value of the wrong type is reported where it is, taken out,
/// and decoding goes on, so every such value is reported in one run.
fn decode(
    json: &mut serde_json::Value,
    tree: &yaml_tree::Node,
    text: &str,
    display: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Option<raw::RawConfig> {
    for _ in 0..100 {
        let e = match serde_path_to_error::deserialize::<_, raw::RawConfig>(&*json) {
            Ok(raw) => return Some(raw),
            Err(e) => e,
        };
        let path: Vec<String> = e
            .path()
            .iter()
            .map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                serde_path_to_error::Segment::Map { key } => key.clone(),
                serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                serde_path_to_error::Segment::Unknown => "?".into(),
            })
            .collect();
        let steps: Vec<&str> = path.iter().map(String::as_str).collect();
        let pos = tree.locate_value(&steps);
        let inner = e.inner().to_string();
        let mut d = Diagnostic::error(
            "config/invalid",
            if path.is_empty() {
                inner.clone()
            } else {
                format!("{inner} (at `{}`)", path.join("."))
            },
            Location::new(display, pos.line, pos.col).with_source(text),
        );
        d.help = type_help(&inner, path.last().map(String::as_str));
        diags.push(d);
        if !remove(json, &path) {
            return None;
        }
    }
    None
}

/// A fix for a type error: a bare number where a duration goes says which unit to add.
fn type_help(message: &str, key: Option<&str>) -> Option<String> {
    let number = message.contains("invalid type: integer")
        || message.contains("invalid type: floating point");
    let duration_key = key.is_some_and(|k| {
        [
            "timeout", "soak", "interval", "after", "deadline", "delay", "period", "window",
            "backoff",
        ]
        .iter()
        .any(|w| k.contains(w))
    });
    if number && duration_key {
        // The same words the duration check gives a bare number written as text.
        let n = message.split('`').nth(1).unwrap_or("30");
        return validate::parse_duration(n).err();
    }
    if number && message.contains("expected a string") {
        return Some("quote the value to write it as text".into());
    }
    None
}

/// Take the value at `path` out of `json`; false when there is nothing left to take.
fn remove(json: &mut serde_json::Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = json;
    for p in parents {
        node = match node {
            serde_json::Value::Object(m) => match m.get_mut(p) {
                Some(n) => n,
                None => return false,
            },
            serde_json::Value::Array(a) => match p.parse::<usize>().ok().and_then(|i| a.get_mut(i))
            {
                Some(n) => n,
                None => return false,
            },
            _ => return false,
        };
    }
    match node {
        serde_json::Value::Object(m) => m.remove(last).is_some(),
        serde_json::Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// `unknown key `enviroments``, with a did-you-mean among `expected`.
fn unknown_key(key: &str, expected: &[String], loc: Location) -> Diagnostic {
    let candidates: Vec<&str> = expected.iter().map(String::as_str).collect();
    let mut d = Diagnostic::error("config/unknown-key", format!("unknown key `{key}`"), loc);
    d.help = Some(match suggest::did_you_mean(key, &candidates) {
        Some(s) => format!("did you mean `{s}`? (expected one of {})", quoted(expected)),
        None => format!("expected one of {}", quoted(expected)),
    });
    d
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_key_names_file_line_col_and_suggests() {
        let text = "version: 1\napps:\n  web:\n    enviroments:\n      staging: {}\n";
        let err = parse(text, Path::new(".github/stage-gate.yml")).unwrap_err();
        let d = &err.0[0];
        assert_eq!(d.rule, "config/unknown-key");
        assert_eq!(d.message, "unknown key `enviroments`");
        assert_eq!((d.location.line, d.location.column), (4, 5));
        assert!(d
            .help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `environments`?"));
    }

    #[test]
    fn wrong_type_is_an_error_with_a_position() {
        let err = parse("version: one\n", Path::new("c.yml")).unwrap_err();
        assert_eq!(err.0[0].rule, "config/invalid");
        assert_eq!(err.0[0].location.line, 1);
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse("version: 1\napps: [\n", Path::new("c.yml")).unwrap_err();
        assert!(err.0[0].location.line >= 2, "{:?}", err.0[0]);
    }
}
