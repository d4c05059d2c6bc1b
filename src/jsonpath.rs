//! The small JSONPath subset health assertions use: `$`, `.key`, `['key']` / `["key"]` and
//! `[index]`, e.g. `$.build.versions[0].sha`. No wildcards, filters or recursion: an assertion
//! names exactly one value.

use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path; `Display` gives back the text it came from, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let rest = text
            .trim()
            .strip_prefix('$')
            .ok_or_else(|| format!("`{text}`: a JSON path starts with `$`, e.g. `$.version`"))?;
        let chars: Vec<char> = rest.chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                        end += 1;
                    }
                    if end == start {
                        return Err(format!("`{text}`: empty key after `.` at {}", i + 1));
                    }
                    steps.push(Step::Key(chars[start..end].iter().collect()));
                    i = end;
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("`{text}`: `[` at {} is never closed", i + 1))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    let quoted = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                    let step = match quoted {
                        Some(key) => Step::Key(key.to_string()),
                        None => Step::Index(inner.parse().map_err(|_| {
                            format!("`{text}`: `[{inner}]` is neither an index nor a quoted key")
                        })?),
                    };
                    steps.push(step);
                    i = close + 1;
                }
                c => {
                    return Err(format!(
                        "`{text}`: unexpected `{c}` at {}; use `.key`, `['key']` or `[0]`",
                        i + 1
                    ))
                }
            }
        }
        Ok(JsonPath { steps })
    }

    /// The value at this path, if there is one.
    pub fn find<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.steps.iter().try_fold(doc, |v, step| match step {
            Step::Key(k) => v.as_object()?.get(k),
            Step::Index(n) => v.as_array()?.get(*n),
        })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for step in &self.steps {
            match step {
                Step::Key(k)
                    if k.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
                {
                    write!(f, ".{k}")?
                }
                Step::Key(k) => write!(f, "['{k}']")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nested_keys_and_indexes() {
        let doc = json!({"a": {"b": [{"c": 1}, {"c": 2}]}, "odd key": true});
        let p = JsonPath::parse("$.a.b[1].c").unwrap();
        assert_eq!(p.find(&doc), Some(&json!(2)));
        assert_eq!(
            JsonPath::parse("$['odd key']").unwrap().find(&doc),
            Some(&json!(true))
        );
        assert_eq!(
            JsonPath::parse("$[\"a\"].b[0]").unwrap().find(&doc),
            Some(&json!({"c": 1}))
        );
        assert_eq!(JsonPath::parse("$").unwrap().find(&doc), Some(&doc));
        assert_eq!(JsonPath::parse("$.a.b[5]").unwrap().find(&doc), None);
        assert_eq!(JsonPath::parse("$.a.b.c").unwrap().find(&doc), None);
    }

    #[test]
    fn bad_paths_say_what_is_wrong() {
        assert!(JsonPath::parse("version")
            .unwrap_err()
            .contains("starts with `$`"));
        assert!(JsonPath::parse("$.a[")
            .unwrap_err()
            .contains("never closed"));
        assert!(JsonPath::parse("$.a[x]").unwrap_err().contains("neither"));
        assert!(JsonPath::parse("$..a").unwrap_err().contains("empty key"));
        assert!(JsonPath::parse("$a")
            .unwrap_err()
            .contains("unexpected `a`"));
    }

    #[test]
    fn displays_normalised() {
        let p = JsonPath::parse("$['a'].b[0]['x y']").unwrap();
        assert_eq!(p.to_string(), "$.a.b[0]['x y']");
    }
}
