//! Find where a key path sits in YAML text, so validation errors (which happen after
//! serde has thrown positions away) can still point at file:line:col.
//!
//! Block-style mappings are walked by indentation; a key inside a flow mapping is not
//! found, and the nearest enclosing key that is found is returned instead.

/// 1-based (line, column) of the key at `path`, or of its deepest ancestor found.
pub fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
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
    fn finds_nested_keys() {
        assert_eq!(locate(YAML, &["version"]), Some((1, 1)));
        assert_eq!(
            locate(
                YAML,
                &["apps", "web", "environments", "staging", "fly", "strategy"]
            ),
            Some((7, 11))
        );
        assert_eq!(
            locate(YAML, &["apps", "web", "environments", "production"]),
            Some((8, 7))
        );
    }

    #[test]
    fn falls_back_to_the_nearest_ancestor() {
        assert_eq!(
            locate(
                YAML,
                &["apps", "web", "environments", "production", "fly", "app"]
            ),
            Some((9, 9))
        );
    }

    #[test]
    fn list_items_count_as_indentation() {
        let y = "notify:\n  - webhook: https://x\n    format: slack\n";
        assert_eq!(locate(y, &["notify", "format"]), Some((3, 5)));
    }
}
