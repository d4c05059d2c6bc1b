//! A TOML document as a small tree whose every node remembers where it was written, so
//! checks (and parity, which compares two files) can point at file:line:col after parsing.
//! Built from `toml_edit`'s span-preserving `Document`; owns nothing else.

use std::ops::Range;
use toml_edit::{Item, Table, Value};

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Dates and times: valid TOML, never meaningful in a fly.toml.
    Datetime(String),
    Array(Vec<Node>),
    /// Keys in file order.
    Table(Vec<(String, Node)>),
}

/// A value plus where its key (or, for array items, the value itself) was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub val: Val,
    pub pos: Pos,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.val {
            Val::Table(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, n)| n),
            _ => None,
        }
    }

    /// Entries of a table (empty for other kinds).
    pub fn entries(&self) -> &[(String, Node)] {
        match &self.val {
            Val::Table(entries) => entries,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.val {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node itself for a table, each item for an array: how fly.toml treats sections
    /// that may be written either as `[x]` or `[[x]]`.
    pub fn one_or_many(&self) -> Vec<&Node> {
        match &self.val {
            Val::Array(items) => items.iter().collect(),
            _ => vec![self],
        }
    }

    pub fn type_name(&self) -> &'static str {
        match &self.val {
            Val::Str(_) => "a string",
            Val::Int(_) => "an integer",
            Val::Float(_) => "a number",
            Val::Bool(_) => "a boolean",
            Val::Datetime(_) => "a date",
            Val::Array(_) => "an array",
            Val::Table(_) => "a table",
        }
    }

    /// A short rendering of the value for messages and parity comparisons.
    pub fn display(&self) -> String {
        match &self.val {
            Val::Str(s) => format!("{s:?}"),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => f.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Datetime(d) => d.clone(),
            Val::Array(items) => {
                let inner: Vec<String> = items.iter().map(Node::display).collect();
                format!("[{}]", inner.join(", "))
            }
            Val::Table(entries) => {
                let inner: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", v.display()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

/// Byte offsets to 1-based line/column (columns count characters, as editors do).
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Pos { line, column }
    }
}

/// A TOML syntax error with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub pos: Pos,
}

/// Parse `text` into a [`Node`] tree (the root is a table at 1:1).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let index = LineIndex::new(text);
    let doc = toml_edit::Document::parse(text).map_err(|e| SyntaxError {
        message: e.message().trim().to_string(),
        pos: e
            .span()
            .map(|s| index.pos(s.start))
            .unwrap_or(Pos { line: 1, column: 1 }),
    })?;
    let root = Pos { line: 1, column: 1 };
    Ok(table(&index, doc.as_table(), root))
}

fn at(index: &LineIndex, span: Option<Range<usize>>, fallback: Pos) -> Pos {
    span.map(|s| index.pos(s.start)).unwrap_or(fallback)
}

fn table(index: &LineIndex, t: &Table, pos: Pos) -> Node {
    let entries = t
        .iter()
        .filter_map(|(k, item)| {
            let key_pos = at(index, t.key(k).and_then(|key| key.span()), pos);
            // A `[section]` header is where a reader looks for the section.
            let own = at(index, item.span(), key_pos);
            let key_pos = match item {
                Item::Table(_) | Item::ArrayOfTables(_) => own,
                _ => key_pos,
            };
            item_node(index, item, key_pos).map(|n| (k.to_string(), n))
        })
        .collect();
    Node {
        val: Val::Table(entries),
        pos,
    }
}

fn item_node(index: &LineIndex, item: &Item, pos: Pos) -> Option<Node> {
    Some(match item {
        Item::None => return None,
        Item::Value(v) => value(index, v, pos),
        Item::Table(t) => table(index, t, pos),
        Item::ArrayOfTables(a) => Node {
            val: Val::Array(
                a.iter()
                    .map(|t| table(index, t, at(index, t.span(), pos)))
                    .collect(),
            ),
            pos,
        },
    })
}

fn value(index: &LineIndex, v: &Value, pos: Pos) -> Node {
    let val = match v {
        Value::String(s) => Val::Str(s.value().clone()),
        Value::Integer(i) => Val::Int(*i.value()),
        Value::Float(f) => Val::Float(*f.value()),
        Value::Boolean(b) => Val::Bool(*b.value()),
        Value::Datetime(d) => Val::Datetime(d.value().to_string()),
        Value::Array(a) => Val::Array(
            a.iter()
                .map(|item| value(index, item, at(index, item.span(), pos)))
                .collect(),
        ),
        Value::InlineTable(t) => Val::Table(
            t.iter()
                .map(|(k, item)| {
                    let key_pos = at(index, t.key(k).and_then(|key| key.span()), pos);
                    (k.to_string(), value(index, item, key_pos))
                })
                .collect(),
        ),
    };
    Node { val, pos }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_sections_carry_their_positions() {
        let text =
            "app = \"x\"\n\n[http_service]\n  internal_port = 8080\n\n[[vm]]\n  memory = \"1gb\"\n";
        let root = parse(text).unwrap();
        assert_eq!(root.get("app").unwrap().pos, Pos { line: 1, column: 1 });
        let hs = root.get("http_service").unwrap();
        assert_eq!(hs.pos.line, 3);
        assert_eq!(
            hs.get("internal_port").unwrap().pos,
            Pos { line: 4, column: 3 }
        );
        let vm = root.get("vm").unwrap().one_or_many();
        assert_eq!(vm[0].get("memory").unwrap().pos.line, 7);
    }

    #[test]
    fn inline_tables_and_dotted_keys_are_located() {
        let text = "[deploy]\nrelease_command_vm.size = \"x\"\n[env]\nA = { b = 1 }\n";
        let root = parse(text).unwrap();
        let vm = root
            .get("deploy")
            .unwrap()
            .get("release_command_vm")
            .unwrap();
        assert_eq!(vm.get("size").unwrap().pos.line, 2);
        assert_eq!(root.get("env").unwrap().get("A").unwrap().pos.line, 4);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let err = parse("app = \"x\"\n[processes]\na = 1\n[processes]\nb = 2\n").unwrap_err();
        assert_eq!(err.pos.line, 4);
        assert!(
            err.message.contains("duplicate") || err.message.contains("invalid"),
            "{}",
            err.message
        );
        let err = parse("app = \n").unwrap_err();
        assert_eq!(err.pos.line, 1);
    }

    #[test]
    fn columns_count_characters() {
        let idx = LineIndex::new("é = 1\nab\n");
        assert_eq!(idx.pos(4), Pos { line: 1, column: 4 });
        assert_eq!(idx.pos(8), Pos { line: 2, column: 2 });
    }
}
