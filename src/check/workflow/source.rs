//! A workflow file read twice: into zizmor's typed model (`github-actions-models`), for
//! what it means, and into `config::yaml_tree`, for where each key and value is. Findings
//! name the value's own line and column, also inside a `run:` script.

use crate::config::{locate, yaml_tree};
use crate::report::Location;
use github_actions_models::workflow::Workflow;
use std::path::Path;

pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub workflow: Workflow,
    tree: Option<yaml_tree::Node>,
    lines: Vec<&'a str>,
}

/// Why a file could not be read as a workflow, and where.
pub struct Unreadable {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// Filter keys of `on:` events that GitHub accepts as one string or a list.
const LIST_KEYS: &[&str] = &[
    "branches",
    "branches-ignore",
    "tags",
    "tags-ignore",
    "paths",
    "paths-ignore",
    "workflows",
    "types",
];

fn normalise(mut doc: serde_yaml::Value) -> serde_yaml::Value {
    use serde_yaml::Value;
    let on = doc.as_mapping_mut().and_then(|m| {
        let key = if m.contains_key("on") {
            Value::from("on")
        } else {
            Value::Bool(true)
        };
        m.get_mut(&key)
    });
    if let Some(Value::Mapping(events)) = on {
        for (_, body) in events.iter_mut() {
            let Value::Mapping(body) = body else { continue };
            for key in LIST_KEYS {
                if let Some(v) = body.get_mut(*key) {
                    if let Value::String(s) = v {
                        *v = Value::Sequence(vec![Value::String(s.clone())]);
                    }
                }
            }
        }
    }
    doc
}

impl<'a> Source<'a> {
    pub fn read(path: &'a Path, text: &'a str) -> Result<Self, Unreadable> {
        let workflow: Workflow = match serde_yaml::from_str(text) {
            Ok(w) => w,
            Err(e) => {
                // GitHub takes a single string where the model wants a list
                // (`branches: main`, `workflows: CI`); read those as lists of one.
                let retried = serde_yaml::from_str::<serde_yaml::Value>(text)
                    .ok()
                    .map(normalise)
                    .and_then(|v| serde_yaml::from_value(v).ok());
                match retried {
                    Some(w) => w,
                    None => {
                        let (line, column) =
                            e.location().map_or((1, 1), |l| (l.line(), l.column()));
                        return Err(Unreadable {
                            message: e.to_string(),
                            line,
                            column,
                        });
                    }
                }
            }
        };
        Ok(Source {
            path,
            text,
            workflow,
            // Positions only; a file the tree cannot read falls back to the indentation walk
            // of `config::locate`.
            tree: yaml_tree::parse(text).ok(),
            lines: text.lines().collect(),
        })
    }

    /// The file as a positioned tree, when it could be read as one.
    pub fn tree(&self) -> Option<&yaml_tree::Node> {
        self.tree.as_ref()
    }

    pub fn at(&self, line: usize, column: usize) -> Location {
        Location::new(self.path, line.max(1), column.max(1)).with_source(self.text)
    }

    /// The key at the end of `path` (`["jobs", "deploy"]`), or the deepest part that exists.
    pub fn key(&self, path: &[&str]) -> Location {
        let (l, c) = match &self.tree {
            Some(t) => {
                let p = t.locate_key(path);
                (p.line, p.col)
            }
            None => locate::locate_key(self.text, path).unwrap_or((1, 1)),
        };
        self.at(l, c)
    }

    /// Whether the key at the end of `path` is written (for keys the model does not keep,
    /// such as `concurrency:` of a job that calls a reusable workflow).
    pub fn has(&self, path: &[&str]) -> bool {
        match &self.tree {
            Some(t) => {
                let mut node = t;
                for step in path {
                    match node.get(step) {
                        Some(n) => node = n,
                        None => return false,
                    }
                }
                true
            }
            None => locate::locate_key(self.text, path).is_some_and(|(l, _)| {
                self.lines.get(l - 1).is_some_and(|t| {
                    t.trim_start()
                        .starts_with(&format!("{}:", path[path.len() - 1]))
                })
            }),
        }
    }

    /// A scalar value's own position (a mapping or list: its key).
    pub fn value(&self, path: &[&str]) -> Location {
        let (l, c) = match &self.tree {
            Some(t) => {
                let p = t.locate_value(path);
                (p.line, p.col)
            }
            None => locate::locate(self.text, path).unwrap_or((1, 1)),
        };
        self.at(l, c)
    }

    /// The `- ` of step `index` of `job`.
    pub fn step(&self, job: &str, index: usize) -> Location {
        let i = index.to_string();
        match &self.tree {
            Some(t) => {
                let p = t.locate_key(&["jobs", job, "steps", &i]);
                // A step item's position is its first key; the `- ` is two columns before.
                let col = self.lines.get(p.line - 1).map_or(p.col, |l| {
                    let before = &l[..l.len().min(p.col.saturating_sub(1))];
                    match before.trim_end().strip_suffix('-') {
                        Some(b) if b.trim().is_empty() => b.len() + 1,
                        _ => p.col,
                    }
                });
                self.at(p.line, col)
            }
            None => self.key(&["jobs", job, "steps"]),
        }
    }

    /// Where byte `offset` of the script at `path` (a `run:` value) is in the file.
    pub fn in_script(&self, path: &[&str], script: &str, offset: usize) -> Location {
        let start = self.value(path);
        let offset = offset.min(script.len());
        let k = script[..offset].matches('\n').count();
        let line_start = script[..offset].rfind('\n').map_or(0, |i| i + 1);
        let needle: String = script[offset..]
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(40)
            .collect();
        let before: String = script[line_start..offset].to_string();
        let first = self.lines.get(start.line - 1).copied().unwrap_or("");
        let literal = first
            .get(start.column - 1..)
            .is_some_and(|v| v.starts_with('|') || v.starts_with('>'));
        let expected = if literal {
            start.line + 1 + k
        } else {
            start.line + k
        };
        if needle.trim().is_empty() {
            return start;
        }
        // Literal blocks keep every line; other scalars may fold: search near where it should be.
        let candidates = (expected..expected + 4).chain(start.line..expected);
        for line in candidates {
            let Some(text) = self.lines.get(line.wrapping_sub(1)) else {
                continue;
            };
            let from = if line == start.line {
                start.column - 1
            } else {
                0
            };
            let hits: Vec<usize> = text
                .get(from..)
                .map(|t| {
                    t.match_indices(needle.as_str())
                        .map(|(i, _)| i + from)
                        .collect()
                })
                .unwrap_or_default();
            // Two hits on one line: the one whose text before it matches the script's.
            let best = hits
                .iter()
                .find(|&&i| text[..i].ends_with(before.trim_start()))
                .or(hits.first());
            if let Some(&i) = best {
                return self.at(line, text[..i].chars().count() + 1);
            }
        }
        start
    }
}
