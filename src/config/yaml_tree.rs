//! YAML with the position of every key and value, for messages that point at the value (also
//! in flow style, `{ url: …, expect-status: 999 }`), and for finding every unknown key in one
//! pass. Built from `saphyr-parser`'s event stream (a maintained YAML 1.2 parser that keeps
//! spans); serde decodes the JSON this tree gives.
//!
//! What YAML allows and a loader would blur is kept or reported here, with positions:
//! - anchors and aliases (`&defaults`, `*defaults`): an alias is a copy of its anchor's node,
//!   positions included, so an error in it points at the anchor's text;
//! - merge keys (`<<: *defaults`, `<<: [*a, *b]`), merged as YAML 1.1 says: keys written in
//!   the mapping win over merged ones, and earlier merged mappings over later ones;
//! - a key written twice in one mapping, which loaders silently resolve to the last value, is
//!   a [`Problem`] naming both places (the tree keeps the last, as they do);
//! - a UTF-8 byte-order mark at the start, which YAML allows, is skipped.
//!
//! A document nested deeper than [`MAX_DEPTH`], or whose aliases expand past [`MAX_NODES`],
//! is refused while it is read: a hostile file costs microseconds, not minutes of CPU.

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::Value;
use std::collections::HashMap;

pub(crate) const MAX_DEPTH: usize = 64;
pub(crate) const MAX_ALIASES: usize = 100;
/// Nodes of the whole tree once aliases are expanded ("billion laughs" stops here).
pub(crate) const MAX_NODES: usize = 100_000;

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

/// A syntax error, or a refused depth or size: nothing could be read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct YamlError {
    pub message: String,
    pub pos: Pos,
}

/// Something the file says that a YAML loader would accept but hide: a key written twice,
/// a merge key whose value is not a mapping. The rest of the document is still read.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
    pub pos: Pos,
    /// The other place involved (the first occurrence of a duplicate key).
    pub related: Option<Pos>,
    pub help: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    DuplicateKey,
    BadMerge,
}

/// The first document of a text, and what it hides.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    pub problems: Vec<Problem>,
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line().max(1),
        col: m.col() + 1,
    }
}

/// The first document of `text` (an empty document is an empty mapping).
pub(crate) fn parse(text: &str) -> Result<Node, YamlError> {
    parse_document(text).map(|d| d.root)
}

/// The first document of `text` with its [`Problem`]s.
pub(crate) fn parse_document(text: &str) -> Result<Document, YamlError> {
    // YAML allows a byte-order mark; the parser would read it as part of the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut b = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            // saphyr's own nesting limit, hit before ours in flow style.
            message: if e.info().contains("recursion limit") {
                format!("nested deeper than {MAX_DEPTH} levels; refused")
            } else {
                e.info().to_string()
            },
            pos: pos_of(e.marker()),
        })?;
        if b.root.is_none() {
            b.event(event, pos_of(&span.start))?;
        }
        // Later documents are read for syntax errors only.
    }
    Ok(Document {
        root: b
            .root
            .unwrap_or_else(|| Node::Map(Vec::new(), Pos { line: 1, col: 1 })),
        problems: b.problems,
    })
}

/// A mapping or list being read.
enum Frame {
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(String, Pos, Node)>,
        /// The key read, waiting for its value; `true` for a merge key (`<<`).
        key: Option<(String, Pos, bool)>,
        /// `<<` values, in order, with where their key is.
        merges: Vec<(Pos, Node)>,
    },
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    problems: Vec<Problem>,
    aliases: usize,
    nodes: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, pos: Pos) -> Result<(), YamlError> {
        match event {
            Event::MappingStart(anchor, _) => {
                self.open(pos)?;
                self.stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceStart(anchor, _) => {
                self.open(pos)?;
                self.stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Map {
                    pos,
                    anchor,
                    mut entries,
                    merges,
                    ..
                }) => {
                    self.merge(&mut entries, merges);
                    self.done(Node::Map(entries, pos), anchor, 1, false)?;
                }
                Some(Frame::Seq { pos, anchor, items }) => {
                    self.done(Node::Seq(items, pos), anchor, 1, false)?;
                }
                None => {}
            },
            Event::Scalar(text, style, anchor, tag) => {
                let merge_key = style == ScalarStyle::Plain && text == "<<";
                let value = Scalar::parse_from_cow_and_metadata(text.clone(), style, tag.as_ref())
                    .map_or_else(|| Value::String(text.to_string()), |s| scalar(&s));
                self.done(Node::Scalar(value, pos), anchor, 1, merge_key)?;
            }
            Event::Alias(id) => {
                self.aliases += 1;
                if self.aliases > MAX_ALIASES {
                    return Err(YamlError {
                        message: format!("more than {MAX_ALIASES} aliases (`*name`); refused"),
                        pos,
                    });
                }
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return Err(YamlError {
                        message: "this alias refers to the node it is inside of".into(),
                        pos,
                    });
                };
                self.done(node, 0, size, false)?;
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => {}
        }
        Ok(())
    }

    fn open(&self, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                message: format!("nested deeper than {MAX_DEPTH} levels; refused"),
                pos,
            });
        }
        Ok(())
    }

    /// A whole node was read (`size` nodes, counting an alias's copy): keep it under its
    /// anchor and put it where it goes.
    fn done(
        &mut self,
        node: Node,
        anchor: usize,
        size: usize,
        merge_key: bool,
    ) -> Result<(), YamlError> {
        self.nodes += size;
        if self.nodes > MAX_NODES {
            return Err(YamlError {
                message: format!("more than {MAX_NODES} values once aliases are expanded; refused"),
                pos: node.pos(),
            });
        }
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), node.size()));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                merges,
                ..
            }) => match key.take() {
                None => *key = Some((key_text(&node), node.pos(), merge_key)),
                Some((_, at, true)) => merges.push((at, node)),
                Some((name, at, false)) => match entries.iter_mut().find(|(k, ..)| *k == name) {
                    Some(entry) => {
                        self.problems.push(Problem {
                                kind: ProblemKind::DuplicateKey,
                                message: format!(
                                    "duplicate key `{name}`: it is also at line {}, column {}",
                                    entry.1.line, entry.1.col
                                ),
                                pos: at,
                                related: Some(entry.1),
                                help: Some(format!(
                                    "a YAML loader keeps only the last `{name}`; merge the two into one, or rename one of them"
                                )),
                            });
                        *entry = (name, at, node);
                    }
                    None => entries.push((name, at, node)),
                },
            },
        }
        Ok(())
    }

    /// YAML 1.1 merge keys: each merged mapping's keys that the mapping does not write
    /// itself, earlier merged mappings first.
    fn merge(&mut self, entries: &mut Vec<(String, Pos, Node)>, merges: Vec<(Pos, Node)>) {
        for (at, value) in merges {
            let sources = match value {
                Node::Map(..) => vec![value],
                Node::Seq(items, _) if items.iter().all(|i| matches!(i, Node::Map(..))) => items,
                _ => {
                    self.problems.push(Problem {
                        kind: ProblemKind::BadMerge,
                        message: "a merge key `<<` takes a mapping or a list of mappings".into(),
                        pos: at,
                        related: None,
                        help: Some(
                            "write `<<: *defaults` (an alias of a mapping) or `<<: [*a, *b]`"
                                .into(),
                        ),
                    });
                    continue;
                }
            };
            for source in sources {
                let Node::Map(merged, _) = source else {
                    continue;
                };
                for (k, kp, v) in merged {
                    if !entries.iter().any(|(e, ..)| *e == k) {
                        entries.push((k, kp, v));
                    }
                }
            }
        }
    }
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

/// A key as text: a string as written, another scalar as JSON prints it; a mapping or list
/// used as a key has no name.
fn key_text(k: &Node) -> String {
    match k {
        Node::Scalar(Value::String(s), _) => s.clone(),
        Node::Scalar(v, _) => v.to_string(),
        _ => "?".into(),
    }
}

impl Node {
    /// Nodes in this tree, itself included.
    fn size(&self) -> usize {
        1 + match self {
            Node::Map(entries, _) => entries.iter().map(|(_, _, v)| v.size()).sum(),
            Node::Seq(items, _) => items.iter().map(Node::size).sum(),
            Node::Scalar(..) => 0,
        }
    }

    pub(crate) fn pos(&self) -> Pos {
        match self {
            Node::Map(_, p) | Node::Seq(_, p) | Node::Scalar(_, p) => *p,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
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
    pub(crate) fn locate_value(&self, path: &[&str]) -> Pos {
        match self.walk(path) {
            (_, Some(n @ Node::Scalar(..))) if !path.is_empty() => n.pos(),
            (at, _) => at,
        }
    }

    /// The position of the key at the end of `path` (or of the deepest part found).
    pub(crate) fn locate_key(&self, path: &[&str]) -> Pos {
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
    fn anchors_aliases_and_merge_keys_are_expanded_and_explicit_keys_win() {
        let text = "x-base: &base\n  fly: {strategy: rolling, app: base}\n  timeout: 5m\nweb:\n  <<: *base\n  timeout: 10m\nboth:\n  <<: [{a: 1, b: 1}, {b: 2, c: 2}]\n  c: 3\n";
        let doc = parse_document(text).expect("yaml");
        assert!(doc.problems.is_empty(), "{:?}", doc.problems);
        let json = doc.root.to_json();
        assert_eq!(json["web"]["timeout"], "10m");
        assert_eq!(json["web"]["fly"]["strategy"], "rolling");
        assert_eq!(json["both"], serde_json::json!({"c": 3, "a": 1, "b": 1}));
        assert!(json["web"].get("<<").is_none());
        // A merged value is where the anchor wrote it.
        assert_eq!(
            doc.root.locate_value(&["web", "fly", "strategy"]),
            Pos { line: 2, col: 19 }
        );
        let bad = parse_document("a: &s x\nb:\n  <<: *s\n").unwrap();
        assert_eq!(bad.problems[0].kind, ProblemKind::BadMerge);
        assert_eq!(bad.problems[0].pos, Pos { line: 3, col: 3 });
    }

    #[test]
    fn a_duplicate_key_names_both_places_and_keeps_the_last() {
        let doc = parse_document("envs:\n  staging: 1\n  prod: 2\n  staging: 3\n").unwrap();
        assert_eq!(doc.problems.len(), 1);
        let p = &doc.problems[0];
        assert_eq!(p.kind, ProblemKind::DuplicateKey);
        assert_eq!(p.pos, Pos { line: 4, col: 3 });
        assert_eq!(p.related, Some(Pos { line: 2, col: 3 }));
        assert_eq!(doc.root.to_json()["envs"]["staging"], 3);
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_columns_stay_right() {
        let doc = parse_document("\u{feff}version: 1\nsoak: x\n").unwrap();
        assert_eq!(doc.root.to_json()["version"], 1);
        assert_eq!(doc.root.locate_key(&["version"]), Pos { line: 1, col: 1 });
        assert_eq!(doc.root.locate_value(&["soak"]), Pos { line: 2, col: 7 });
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
