//! Where a key path sits in YAML text, so validation errors (which happen after serde has
//! thrown positions away) still point at file:line:col.
//!
//! From the span-keeping tree (`yaml_tree`), so flow style (`{ url: …, expect-status: 999 }`)
//! is located as well as block style; text that is not valid YAML falls back to a walk by
//! indentation, which finds block-style keys only.

use super::yaml_tree;

/// 1-based (line, column) of the value at `path` (keys, and list indexes), or of the key of
/// its deepest ancestor found.
pub(crate) fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    located(text, path, yaml_tree::Node::locate_value)
}

/// 1-based (line, column) of the key at the end of `path` (or of its deepest ancestor).
pub(crate) fn locate_key(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    located(text, path, yaml_tree::Node::locate_key)
}

fn located(
    text: &str,
    path: &[&str],
    pick: fn(&yaml_tree::Node, &[&str]) -> yaml_tree::Pos,
) -> Option<(usize, usize)> {
    match yaml_tree::parse(text) {
        Ok(tree) => {
            let p = pick(&tree, path);
            Some((p.line, p.col))
        }
        Err(_) => locate_by_indent(text, path),
    }
}

/// Block-style keys by indentation: the key at `path`, or its deepest ancestor found.
fn locate_by_indent(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut best: Option<(usize, (usize, usize))> = None;
    for (idx, line) in text.lines().enumerate() {
        let Some((indent, key)) = key_of(line) else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        let depth = stack.len();
        if depth <= path.len() && stack.iter().zip(path).all(|((_, k), p)| k == p) {
            let better = best.is_none_or(|(d, _)| depth > d);
            if better {
                best = Some((depth, (idx + 1, indent + 1)));
            }
            if depth == path.len() {
                break;
            }
        }
    }
    best.map(|(_, pos)| pos)
}

/// The indentation and key of a `key:` line; list dashes count as indentation.
fn key_of(line: &str) -> Option<(usize, String)> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') || trimmed.is_empty() {
        return None;
    }
    let mut indent = line.len() - trimmed.len();
    let mut rest = trimmed;
    while let Some(r) = rest.strip_prefix("- ") {
        indent += 2;
        rest = r.trim_start();
    }
    let (key, after) = if let Some(r) = rest.strip_prefix('"') {
        let end = r.find('"')?;
        (&r[..end], &r[end + 1..])
    } else if let Some(r) = rest.strip_prefix('\'') {
        let end = r.find('\'')?;
        (&r[..end], &r[end + 1..])
    } else {
        let end = rest.find(':')?;
        (&rest[..end], &rest[end..])
    };
    let after = after.trim_start();
    if !(after.starts_with(':') && (after.len() == 1 || after[1..].starts_with([' ', '\t']))) {
        return None;
    }
    if key.contains(' ') && !rest.starts_with(['"', '\'']) {
        return None;
    }
    Some((indent, key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "version: 1\napps:\n  web:\n    environments:\n      staging:\n        fly:\n          strategy: rolling\n      production:\n        fly: {app: x}\n";

    #[test]
    fn values_are_located_in_block_and_flow_style() {
        assert_eq!(locate(YAML, &["version"]), Some((1, 10)));
        let strategy = ["apps", "web", "environments", "staging", "fly", "strategy"];
        assert_eq!(locate(YAML, &strategy), Some((7, 21)));
        assert_eq!(locate_key(YAML, &strategy), Some((7, 11)));
        assert_eq!(
            locate(
                YAML,
                &["apps", "web", "environments", "production", "fly", "app"]
            ),
            Some((9, 20))
        );
        let y = "notify:\n  - webhook: https://x\n    format: slack\n";
        assert_eq!(locate(y, &["notify", "0", "format"]), Some((3, 13)));
    }

    #[test]
    fn a_missing_key_falls_back_to_the_nearest_ancestor() {
        assert_eq!(
            locate(
                YAML,
                &["apps", "web", "environments", "production", "fly", "nope"]
            ),
            Some((9, 9))
        );
    }

    #[test]
    fn text_that_is_not_yaml_is_walked_by_indentation() {
        let broken = "jobs:\n  deploy:\n    steps: [\n";
        assert_eq!(locate(broken, &["jobs", "deploy", "steps"]), Some((3, 5)));
        let y = "notify:\n  - webhook: https://x\n    format: slack\n";
        assert_eq!(locate_by_indent(y, &["notify", "format"]), Some((3, 5)));
    }
}
