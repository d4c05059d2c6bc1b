//! The stage-gate config: `.github/stage-gate.yml` → raw form → validated [`Config`].
//!
//! Precedence for values that also exist as inputs (see `inputs.rs`):
//! CLI flag > `INPUT_*` > `STAGE_GATE_*` env > this file > built-in default.

pub mod locate;
pub mod model;
pub mod raw;
pub mod schema;
pub mod suggest;
mod validate;

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

/// Parse and validate config text.
pub fn parse(text: &str, display: &Path) -> Result<Config, ConfigError> {
    let raw: raw::RawConfig = serde_yaml::from_str(text)
        .map_err(|e| ConfigError::single(serde_error(&e, text, display)))?;
    validate::validate(raw, text, display)
}

/// Turn a serde_yaml error into a diagnostic with a position, a clean message and, for an
/// unknown key, a "did you mean" hint.
fn serde_error(e: &serde_yaml::Error, text: &str, display: &Path) -> Diagnostic {
    let (line, col) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let full = e.to_string();
    // serde_yaml appends " at line X column Y"; the location is shown separately.
    let message = match full.find(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full.clone(),
    };
    let message = message
        .split_once(": ")
        .filter(|(path, _)| !path.contains(' '))
        .map(|(path, rest)| format!("{rest} (at `{path}`)"))
        .unwrap_or(message);
    let loc = Location::new(display, line, col).with_source(text);
    if let Some((key, expected)) = parse_unknown_field(&full) {
        let candidates: Vec<&str> = expected.iter().map(String::as_str).collect();
        let mut d = Diagnostic::error("config/unknown-key", format!("unknown key `{key}`"), loc);
        d.help = Some(match suggest::did_you_mean(&key, &candidates) {
            Some(s) => format!(
                "did you mean `{s}`? (expected one of {})",
                quoted(&expected)
            ),
            None => format!("expected one of {}", quoted(&expected)),
        });
        return d;
    }
    Diagnostic::error("config/invalid", message, loc)
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Pull the key and the expected keys out of serde's "unknown field `x`, expected one of `a`, `b`".
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = &message[message.find("unknown field `")? + "unknown field `".len()..];
    let end = rest.find('`')?;
    let key = rest[..end].to_string();
    let tail = &rest[end..];
    let expected: Vec<String> = tail
        .split('`')
        .skip(2)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key, expected))
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
