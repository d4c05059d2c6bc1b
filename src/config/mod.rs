//! The stage-gate config: `.github/stage-gate.yml` → raw form → validated [`Config`].
//!
//! Precedence for values that also exist as inputs (see `inputs.rs`):
//! CLI flag > `INPUT_*` > `STAGE_GATE_*` env > this file > built-in default.

pub(crate) mod duration;
pub(crate) mod locate;
pub(crate) mod model;
pub(crate) mod pull_request;
pub(crate) mod raw;
pub mod reference;
pub mod schema;
pub(crate) mod suggest;
pub(crate) mod unknown_keys;
pub(crate) mod validate;
pub(crate) mod yaml_tree;

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

/// No config file at [`DEFAULT_PATHS`]: where it was looked for, so that a command which
/// needs one says so instead of acting on an empty config.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// The repository root the default paths were looked for in.
    pub root: PathBuf,
}

impl Missing {
    /// `no .github/stage-gate.yml or .github/stage-gate.yaml in /repo`
    pub fn looked_for(&self) -> String {
        format!(
            "no {} or {} in {}",
            DEFAULT_PATHS[0],
            DEFAULT_PATHS[1],
            self.root.display()
        )
    }

    /// How to make one, or to point at another file.
    pub const FIX: &'static str = "create it (docs/config.md has an example per provider), or name another file with --config PATH (the action's `config` input; STAGE_GATE_CONFIG elsewhere)";

    /// What `check` says: a notice, not an error (a repository may be checked before it
    /// has a config), that the rest was checked without it.
    pub fn notice(&self) -> Diagnostic {
        Diagnostic::new(
            crate::report::Severity::Notice,
            "config/missing",
            format!(
                "no stage-gate config: {}; fly.toml files and workflows were checked without it",
                self.looked_for()
            ),
            Location::new(DEFAULT_PATHS[0], 0, 0),
        )
        .with_help(Self::FIX)
    }

    /// Why `command` cannot run, and what to do.
    pub fn refusal(&self, command: &str) -> String {
        format!(
            "`{command}` needs the stage-gate config, and there is none: {}; {}",
            self.looked_for(),
            Self::FIX
        )
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
/// each key written twice, each value of the wrong type, each invalid value, at the value's
/// own line and column.
pub fn parse(text: &str, display: &Path) -> Result<Config, ConfigError> {
    // YAML allows a byte-order mark; positions and source lines are counted without it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let at = |pos: yaml_tree::Pos| Location::new(display, pos.line, pos.col).with_source(text);
    let doc = yaml_tree::parse_document(text).map_err(|e| {
        ConfigError::single(
            Diagnostic::error(
                "config/invalid",
                format!("not valid YAML: {}", e.message),
                at(e.pos),
            )
            .with_help("fix the YAML at this line (indentation, an unclosed bracket or quote)"),
        )
    })?;
    let tree = doc.root;
    let mut diags: Vec<Diagnostic> = doc
        .problems
        .iter()
        .map(|p| {
            let rule = match p.kind {
                yaml_tree::ProblemKind::DuplicateKey => "config/duplicate-key",
                yaml_tree::ProblemKind::BadMerge => "config/invalid",
            };
            let mut d = Diagnostic::error(rule, p.message.clone(), at(p.pos));
            d.related = p.related.map(at);
            d.help = p.help.clone();
            d
        })
        .collect();
    let (mut json, unknown) = unknown_keys::strip(&tree, config_schema());
    diags.extend(
        unknown
            .iter()
            .map(|u| unknown_keys::diagnostic(u, at(u.pos))),
    );
    let Some(raw) = decode(&mut json, &tree, text, display, &mut diags) else {
        return Err(ConfigError(finish(diags)));
    };
    match validate::validate(raw, text, &tree, display) {
        Ok(config) if diags.is_empty() => Ok(config),
        Ok(_) => Err(ConfigError(finish(diags))),
        Err(ConfigError(more)) => {
            diags.extend(more);
            Err(ConfigError(finish(diags)))
        }
    }
}

/// In file order, each once: a value reached through two aliases is one mistake.
fn finish(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| (d.location.line, d.location.column));
    diags.dedup_by(|a, b| {
        (a.location.line, a.location.column, &a.rule, &a.message)
            == (b.location.line, b.location.column, &b.rule, &b.message)
    });
    diags
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
        return duration::parse(n).err().map(|r| r.help);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_config_says_where_it_was_looked_for_and_how_to_point_elsewhere() {
        let m = Missing {
            root: PathBuf::from("/repo"),
        };
        assert_eq!(
            m.refusal("plan"),
            "`plan` needs the stage-gate config, and there is none: no .github/stage-gate.yml or \
             .github/stage-gate.yaml in /repo; create it (docs/config.md has an example per \
             provider), or name another file with --config PATH (the action's `config` input; \
             STAGE_GATE_CONFIG elsewhere)"
        );
        assert_eq!(discover(Path::new("/nonexistent-root"), None), None);
    }

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
    fn a_duplicate_key_is_an_error_naming_both_places() {
        let text = "version: 1\nenvironments:\n  staging: {}\n  production: {}\n  staging: {branches: [main]}\n";
        let err = parse(text, Path::new("c.yml")).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        let d = &err.0[0];
        assert_eq!(d.rule, "config/duplicate-key");
        assert_eq!((d.location.line, d.location.column), (5, 3));
        let first = d.related.as_ref().expect("the first place");
        assert_eq!((first.line, first.column), (3, 3));
        assert!(d.message.contains("line 3, column 3"), "{}", d.message);
    }

    #[test]
    fn a_byte_order_mark_is_accepted_and_positions_stay_right() {
        let text = "\u{feff}version: 1\nrelese: {}\n";
        let err = parse(text, Path::new("c.yml")).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(err.0[0].message, "unknown key `relese`");
        assert_eq!((err.0[0].location.line, err.0[0].location.column), (2, 1));
        assert!(parse("\u{feff}version: 1\n", Path::new("c.yml")).is_ok());
    }

    #[test]
    fn anchors_merge_keys_and_extension_keys_are_read() {
        let text = "version: 1\nx-fly: &fly\n  strategy: bluegreen\n  wait-timeout: 2m\napps:\n  web:\n    environments:\n      staging:\n        fly:\n          <<: *fly\n          strategy: rolling\n          config: fly.staging.toml\n      production:\n        fly: {<<: *fly, config: fly.toml}\n";
        let c = parse(text, Path::new("c.yml")).unwrap();
        let fly = |env: &str| match &c.apps["web"].environments[env].provider {
            ProviderConfig::Fly(f) => f.clone(),
            _ => panic!("fly"),
        };
        assert_eq!(fly("staging").strategy, FlyStrategy::Rolling);
        assert_eq!(fly("production").strategy, FlyStrategy::Bluegreen);
        assert_eq!(
            fly("production").wait_timeout,
            std::time::Duration::from_secs(120)
        );
        // An error in a merged value points at the anchor's value, once.
        let err = parse(&text.replace("bluegreen", "blue-green"), Path::new("c.yml")).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!((err.0[0].location.line, err.0[0].location.column), (3, 13));
        // `x-` keys are only the user's at the top level.
        let err = parse("version: 1\napps:\n  x-web: {}\n", Path::new("c.yml"));
        assert!(err.is_ok(), "apps take any name");
        let err = parse("version: 1\nrelease:\n  x-note: 1\n", Path::new("c.yml")).unwrap_err();
        assert_eq!(err.0[0].message, "unknown key `x-note`");
    }

    #[test]
    fn a_key_written_in_the_wrong_block_says_where_it_goes() {
        let text = "version: 1\nenvironments:\n  staging: {}\n  production: {}\napps:\n  web:\n    environments:\n      production:\n        require: staging\n        command: {run: x}\n";
        let err = parse(text, Path::new("c.yml")).unwrap_err();
        let d = &err.0[0];
        assert_eq!(d.message, "unknown key `require`");
        assert!(
            d.help.as_deref().unwrap().starts_with(
                "did you mean `requires`? It goes under `environments.<env>`, not `apps.web.environments.production`"
            ),
            "{:?}",
            d.help
        );
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse("version: 1\napps: [\n", Path::new("c.yml")).unwrap_err();
        assert!(err.0[0].location.line >= 2, "{:?}", err.0[0]);
    }
}
