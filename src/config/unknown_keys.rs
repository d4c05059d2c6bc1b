//! Every key the config schema does not know, found in one walk of the YAML tree against the
//! JSON Schema generated from the raw types (`schema.rs`): each is reported at its own line
//! and column with a did-you-mean (a near key of the same mapping, else a key that belongs
//! elsewhere, with where it goes), and left out of what is decoded, so the values around it
//! are still checked in the same run. Keys matching the schema's `patternProperties`
//! (top-level `x-…` extension keys) are the user's own: neither reported nor decoded.

use super::suggest::did_you_mean;
use super::yaml_tree::{Node, Pos};
use crate::report::{Diagnostic, Location};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub struct Unknown {
    pub key: String,
    pub pos: Pos,
    pub expected: Vec<String>,
    pub path: Vec<String>,
}

/// The tree as JSON without its unknown keys, and the unknown keys.
pub fn strip(tree: &Node, schema: &Value) -> (Value, Vec<Unknown>) {
    let mut found = Vec::new();
    let json = walk(tree, schema, schema, &mut Vec::new(), &mut found);
    (json, found)
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .map(|t| resolve(root, t))
            .unwrap_or(s),
        None => s,
    }
}

/// The object schemas `s` allows (through `anyOf`/`oneOf`), for a mapping node.
pub(crate) fn object_schemas<'a>(root: &'a Value, s: &'a Value) -> Vec<&'a Value> {
    let s = resolve(root, s);
    let alternatives = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array);
    match alternatives {
        Some(list) => list.iter().flat_map(|a| object_schemas(root, a)).collect(),
        None => {
            let is_object = s.get("properties").is_some()
                || s.get("additionalProperties").is_some()
                || s.get("type").is_some_and(|t| {
                    t == "object"
                        || t.as_array()
                            .is_some_and(|a| a.iter().any(|x| x == "object"))
                });
            if is_object {
                vec![s]
            } else {
                Vec::new()
            }
        }
    }
}

pub(crate) fn items_schema<'a>(root: &'a Value, s: &'a Value) -> Option<&'a Value> {
    let s = resolve(root, s);
    if let Some(items) = s.get("items") {
        return Some(items);
    }
    s.get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)?
        .iter()
        .find_map(|a| items_schema(root, a))
}

fn walk(
    node: &Node,
    schema: &Value,
    root: &Value,
    path: &mut Vec<String>,
    found: &mut Vec<Unknown>,
) -> Value {
    match node {
        Node::Map(entries, _) => {
            let objects = object_schemas(root, schema);
            let mut out = Map::new();
            for (key, key_pos, value) in entries {
                let known = objects
                    .iter()
                    .find_map(|o| o.get("properties").and_then(|p| p.get(key)));
                let extension = objects.iter().any(|o| {
                    o.get("patternProperties")
                        .and_then(Value::as_object)
                        .is_some_and(|p| {
                            p.keys()
                                .any(|re| regex::Regex::new(re).is_ok_and(|re| re.is_match(key)))
                        })
                });
                if known.is_none() && extension {
                    continue;
                }
                let open = objects
                    .iter()
                    .find_map(|o| o.get("additionalProperties").filter(|a| a.is_object()));
                let closed = !objects.is_empty()
                    && objects
                        .iter()
                        .all(|o| o.get("additionalProperties") == Some(&Value::Bool(false)));
                let child = match (known, open) {
                    (Some(s), _) | (None, Some(s)) => s,
                    (None, None) if closed => {
                        let mut expected: Vec<String> = objects
                            .iter()
                            .filter_map(|o| o.get("properties").and_then(Value::as_object))
                            .flat_map(|p| p.keys().cloned())
                            .collect();
                        expected.sort();
                        expected.dedup();
                        found.push(Unknown {
                            key: key.clone(),
                            pos: *key_pos,
                            expected,
                            path: path.clone(),
                        });
                        continue;
                    }
                    // No schema to say: keep the value as written.
                    (None, None) => &Value::Null,
                };
                path.push(key.clone());
                out.insert(key.clone(), walk(value, child, root, path, found));
                path.pop();
            }
            Value::Object(out)
        }
        Node::Seq(items, _) => {
            let item = items_schema(root, schema).unwrap_or(&Value::Null);
            Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        path.push(i.to_string());
                        let v = walk(n, item, root, path, found);
                        path.pop();
                        v
                    })
                    .collect(),
            )
        }
        Node::Scalar(v, _) => v.clone(),
    }
}

/// `unknown key `require``, with a did-you-mean: a near key of the same mapping, else the
/// key (or a near one) where it belongs instead, else the keys this mapping takes.
pub fn diagnostic(u: &Unknown, loc: Location) -> Diagnostic {
    let candidates: Vec<&str> = u.expected.iter().map(String::as_str).collect();
    let expected = format!("expected one of {}", quoted(&u.expected));
    let help = match did_you_mean(&u.key, &candidates) {
        Some(s) => format!("did you mean `{s}`? ({expected})"),
        None => match elsewhere(&u.key) {
            Some((key, homes)) => {
                let here = if u.path.is_empty() {
                    "the top level".to_string()
                } else {
                    format!("`{}`", u.path.join("."))
                };
                format!(
                    "did you mean `{key}`? It goes under {}, not {here} ({expected})",
                    homes
                        .iter()
                        .map(|h| if h.is_empty() {
                            "the top level".to_string()
                        } else {
                            format!("`{h}`")
                        })
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            }
            None => expected,
        },
    };
    Diagnostic::error(
        "config/unknown-key",
        format!("unknown key `{}`", u.key),
        loc,
    )
    .with_help(help)
}

/// The config key nearest to `key` anywhere in the schema, and where it may be written.
fn elsewhere(key: &str) -> Option<(String, Vec<String>)> {
    static HOMES: std::sync::OnceLock<BTreeMap<String, Vec<String>>> = std::sync::OnceLock::new();
    let homes = HOMES.get_or_init(|| {
        let schema = super::schema::json_value();
        let mut out = BTreeMap::new();
        homes(&schema, &schema, "", 0, &mut out);
        out
    });
    let keys: Vec<&str> = homes.keys().map(String::as_str).collect();
    let found = did_you_mean(key, &keys)?;
    Some((found.to_string(), homes[found].clone()))
}

/// Every key of the schema with the mappings it may be written in (`environments.<env>`,
/// `health.probes[]`), from the root down.
fn homes(root: &Value, s: &Value, at: &str, depth: usize, out: &mut BTreeMap<String, Vec<String>>) {
    if depth > 12 {
        return;
    }
    for o in object_schemas(root, s) {
        for (key, child) in o
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let list = out.entry(key.clone()).or_default();
            if !list.iter().any(|h| h == at) {
                list.push(at.to_string());
            }
            let path = join(at, key);
            homes(root, child, &path, depth + 1, out);
            if let Some(items) = items_schema(root, child) {
                homes(root, items, &format!("{path}[]"), depth + 1, out);
            }
            let entries = object_schemas(root, child)
                .into_iter()
                .find_map(|c| c.get("additionalProperties").filter(|a| a.is_object()));
            if let Some(entry) = entries {
                let name = match key.as_str() {
                    "apps" => "<app>",
                    "environments" => "<env>",
                    _ => "<name>",
                };
                homes(root, entry, &join(&path, name), depth + 1, out);
            }
        }
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
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
    fn every_unknown_key_is_found_and_left_out() {
        let schema = crate::config::schema::json_value();
        let text = "version: 1\nrelese: {}\napps:\n  web:\n    enviroments: {}\n    environments:\n      staging:\n        command: {run: x, shel: bash}\n";
        let tree = crate::config::yaml_tree::parse(text).unwrap();
        let (json, unknown) = strip(&tree, &schema);
        let keys: Vec<(&str, usize, usize)> = unknown
            .iter()
            .map(|u| (u.key.as_str(), u.pos.line, u.pos.col))
            .collect();
        assert_eq!(
            keys,
            [("relese", 2, 1), ("enviroments", 5, 5), ("shel", 8, 27)]
        );
        assert!(unknown[0].expected.iter().any(|e| e == "release"));
        assert!(json.get("relese").is_none());
        assert_eq!(
            json["apps"]["web"]["environments"]["staging"]["command"]["run"],
            "x"
        );
    }
}
