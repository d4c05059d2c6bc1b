//! YAML with the position of every key and value, for messages that point at the value (also
//! in flow style, `{ url: …, expect-status: 999 }`), and for finding every unknown key in one
//! pass. Built on `saphyr` (a maintained YAML 1.2 parser that keeps spans); serde_yaml keeps
//! decoding into types, this keeps positions.
//!
//! A document nested deeper than [`MAX_DEPTH`] is refused from the event stream, before any
//! tree is built: a hostile file costs microseconds, not minutes of CPU.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use saphyr_parser::{Event, Parser};
use serde_json::Value;

pub const MAX_DEPTH: usize = 64;
pub const MAX_ALIASES: usize = 100;

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
pub enum Node {
    /// Entries in document order: key, where the key is, value.
    Map(Vec<(String, Pos, Node)>, Pos),
    Seq(Vec<Node>, Pos),
    Scalar(Value, Pos),
}

/// A syntax error, a refused depth, or an alias (not supported in the config).
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub pos: Pos,
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line().max(1),
        col: m.col() + 1,
    }
}

/// The first document of `text` (an empty document is an empty mapping).
pub fn parse(text: &str) -> Result<Node, YamlError> {
    check_depth(text)?;
    let docs = MarkedYaml::load_from_str(text).map_err(|e| YamlError {
        message: e.info().to_string(),
        pos: pos_of(e.marker()),
    })?;
    match docs.into_iter().next() {
        Some(d) => convert(&d),
        None => Ok(Node::Map(Vec::new(), Pos { line: 1, col: 1 })),
    }
}

fn check_depth(text: &str) -> Result<(), YamlError> {
    let mut depth = 0usize;
    let mut aliases = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(e) => e,
            // saphyr's own nesting limit, hit before ours in flow style.
            Err(e) if e.info().contains("recursion limit") => {
                return Err(YamlError {
                    message: format!("nested deeper than {MAX_DEPTH} levels; refused"),
                    pos: pos_of(e.marker()),
                })
            }
            // The loader reports syntax errors with their position.
            Err(_) => return Ok(()),
        };
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(YamlError {
                        message: format!("nested deeper than {MAX_DEPTH} levels; refused"),
                        pos: pos_of(&span.start),
                    });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            // Each alias copies its anchor's tree: bounded, or a "billion laughs" file would
            // expand without end.
            Event::Alias(_) => {
                aliases += 1;
                if aliases > MAX_ALIASES {
                    return Err(YamlError {
                        message: format!("more than {MAX_ALIASES} aliases (`*name`); refused"),
                        pos: pos_of(&span.start),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::from(*i),
        Scalar::FloatingPoint(f) => serde_json::Number::from_f64(f.into_inner())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

fn key_text(k: &MarkedYaml<'_>) -> String {
    match &k.data {
        YamlData::Value(Scalar::String(s)) => s.to_string(),
        YamlData::Value(other) => match scalar(other) {
            Value::String(s) => s,
            v => v.to_string(),
        },
        _ => "?".into(),
    }
}

fn convert(y: &MarkedYaml<'_>) -> Result<Node, YamlError> {
    let pos = pos_of(&y.span.start);
    Ok(match &y.data {
        YamlData::Mapping(m) => {
            let mut entries = Vec::new();
            for (k, v) in m.iter() {
                entries.push((key_text(k), pos_of(&k.span.start), convert(v)?));
            }
            Node::Map(entries, pos)
        }
        YamlData::Sequence(items) => {
            Node::Seq(items.iter().map(convert).collect::<Result<_, _>>()?, pos)
        }
        YamlData::Value(s) => Node::Scalar(scalar(s), pos),
        YamlData::Tagged(_, inner) => convert(inner)?,
        YamlData::Representation(text, ..) => Node::Scalar(Value::String(text.to_string()), pos),
        YamlData::Alias(_) => {
            return Err(YamlError {
                message: "YAML aliases (`*name`) are not supported here; write the value out"
                    .into(),
                pos,
            })
        }
        YamlData::BadValue => Node::Scalar(Value::Null, pos),
    })
}

impl Node {
    pub fn pos(&self) -> Pos {
        match self {
            Node::Map(_, p) | Node::Seq(_, p) | Node::Scalar(_, p) => *p,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries, _) => entries.iter().find(|(k, ..)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    fn child(&self, step: &str) -> Option<(Pos, &Node)> {
        match self {
            Node::Map(entries, _) => entries
                .iter()
                .find(|(k, ..)| k == step)
                .map(|(_, kp, v)| (*kp, v)),
            Node::Seq(items, _) => {
                let i: usize = step.parse().ok()?;
                items.get(i).map(|n| (n.pos(), n))
            }
            Node::Scalar(..) => None,
        }
    }

    /// Follow `path` as far as it exists: the key of the deepest step found, and the node at
    /// the end when the whole path exists.
    fn walk(&self, path: &[&str]) -> (Pos, Option<&Node>) {
        let mut node = self;
        let mut at = self.pos();
        for step in path {
            match node.child(step) {
                Some((key_pos, next)) => {
                    at = key_pos;
                    node = next;
                }
                None => return (at, None),
            }
        }
        (at, Some(node))
    }

    /// Where `path` (keys, and indexes into lists) leads: a scalar value's own position when
    /// the whole path exists (a mapping or list: the key that names it), else the key of the
    /// deepest part that does.
    pub fn locate_value(&self, path: &[&str]) -> Pos {
        match self.walk(path) {
            (_, Some(n @ Node::Scalar(..))) if !path.is_empty() => n.pos(),
            (at, _) => at,
        }
    }

    /// The position of the key at the end of `path` (or of the deepest part found).
    pub fn locate_key(&self, path: &[&str]) -> Pos {
        self.walk(path).0
    }

    /// The value as JSON (for decoding into types with serde).
    pub fn to_json(&self) -> Value {
        match self {
            Node::Map(entries, _) => Value::Object(
                entries
                    .iter()
                    .map(|(k, _, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Node::Seq(items, _) => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Scalar(v, _) => v.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_located_in_block_and_flow_style() {
        let text = "apps:\n  web:\n    health:\n      probes:\n        - { url: \"http://x\", expect-status: 999 }\n    timeout: 30\n";
        let t = parse(text).expect("yaml");
        assert_eq!(
            t.locate_value(&["apps", "web", "health", "probes", "0", "expect-status"]),
            Pos { line: 5, col: 45 }
        );
        assert_eq!(
            t.locate_value(&["apps", "web", "timeout"]),
            Pos { line: 6, col: 14 }
        );
        assert_eq!(
            t.locate_key(&["apps", "web", "timeout"]),
            Pos { line: 6, col: 5 }
        );
        // A missing leaf: the deepest key found.
        assert_eq!(
            t.locate_value(&["apps", "web", "nope"]),
            Pos { line: 2, col: 3 }
        );
        assert_eq!(t.to_json()["apps"]["web"]["timeout"], 30);
    }

    #[test]
    fn syntax_errors_depth_and_aliases_are_errors_with_a_position() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e:?}");
        let deep = format!("a: {}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let started = std::time::Instant::now();
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("deeper than 64"), "{e:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(parse("a: &x 1\nb: *x\n").unwrap().to_json()["b"], 1);
        let mut laughs = String::from("a: &a [x, x]\n");
        for i in 1..12 {
            laughs.push_str(&format!(
                "l{i}: &l{i} [{}]\n",
                vec![
                    if i == 1 {
                        "*a".to_string()
                    } else {
                        format!("*l{}", i - 1)
                    };
                    10
                ]
                .join(", ")
            ));
        }
        let e = parse(&laughs).unwrap_err();
        assert!(e.message.contains("aliases"), "{e:?}");
        assert!(matches!(parse("").unwrap(), Node::Map(ref e, _) if e.is_empty()));
    }
}
