//! Whether an `if:` can be true for a given run: the expression is parsed (operators, `!`,
//! parentheses, comparisons, `startsWith`/`endsWith`/`contains`, literals, context paths)
//! and evaluated in three values against a [`Run`]. What the run does not fix (a step's
//! output, an input, a variable) is unknown, and an unknown condition may be true: a check
//! only claims "cannot run" when the expression proves it.

/// The facts of one kind of run that conditions usually test.
#[derive(Debug, Clone)]
pub struct Run {
    pub event: &'static str,
    /// `github.ref`: exact, or None when only its kind is known (a tag of any name).
    pub git_ref: Option<String>,
    pub ref_prefix: &'static str,
}

impl Run {
    pub fn push_branch(branch: &str) -> Self {
        Run {
            event: "push",
            git_ref: Some(format!("refs/heads/{branch}")),
            ref_prefix: "refs/heads/",
        }
    }
    pub fn push_tag() -> Self {
        Run {
            event: "push",
            git_ref: None,
            ref_prefix: "refs/tags/",
        }
    }
    pub fn pull_request() -> Self {
        Run {
            event: "pull_request",
            git_ref: None,
            ref_prefix: "refs/pull/",
        }
    }
    /// A manual or chained run from a branch no condition names.
    pub fn from_any_branch(event: &'static str) -> Self {
        Run {
            event,
            git_ref: Some(format!("refs/heads/{ANY_BRANCH}")),
            ref_prefix: "refs/heads/",
        }
    }
}

/// A branch name no workflow tests for: a run "from any branch".
pub const ANY_BRANCH: &str = "stage-gate-any-branch";

#[derive(Debug, Clone, PartialEq)]
enum V {
    Str(String),
    /// A string known only by its start (`refs/tags/…`).
    Prefix(String),
    Bool(bool),
    Num(f64),
    Null,
    Unknown,
}

/// May `condition` be true in `run`? None (no `if:`) is always true.
pub fn may_run(condition: Option<&str>, run: &Run) -> bool {
    let Some(c) = condition else { return true };
    let c = c.trim();
    let c = c
        .strip_prefix("${{")
        .and_then(|c| c.strip_suffix("}}"))
        .unwrap_or(c);
    let tokens = match lex(c) {
        Some(t) => t,
        None => return true,
    };
    let mut p = Parser {
        t: &tokens,
        i: 0,
        run,
    };
    let v = p.or();
    if p.i != tokens.len() {
        return true;
    }
    truthy(&v) != Some(false)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Ident(String),
    Op(&'static str),
}

fn lex(s: &str) -> Option<Vec<Tok>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'\'' {
            let mut v = String::new();
            i += 1;
            loop {
                let rest = s.get(i..)?;
                let end = rest.find('\'')?;
                v.push_str(&rest[..end]);
                i += end + 1;
                if s[i..].starts_with('\'') {
                    v.push('\'');
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Tok::Str(v));
            continue;
        }
        let two = s.get(i..i + 2).unwrap_or("");
        if let Some(op) = ["==", "!=", "<=", ">=", "&&", "||"]
            .into_iter()
            .find(|o| *o == two)
        {
            out.push(Tok::Op(op));
            i += 2;
            continue;
        }
        if let Some(op) = ["!", "(", ")", ",", "<", ">", "[", "]"]
            .into_iter()
            .find(|o| o.as_bytes()[0] == c)
        {
            out.push(Tok::Op(op));
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Num(s[start..i].parse().unwrap_or(f64::NAN)));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-' | b'.' | b'*'))
            {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
            continue;
        }
        return None;
    }
    Some(out)
}

struct Parser<'a> {
    t: &'a [Tok],
    i: usize,
    run: &'a Run,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> V {
        let mut v = self.and();
        while self.eat("||") {
            let r = self.and();
            v = match (truthy(&v), truthy(&r)) {
                (Some(true), _) => v,
                (Some(false), _) => r,
                (None, Some(true)) => r,
                _ => V::Unknown,
            };
        }
        v
    }

    fn and(&mut self) -> V {
        let mut v = self.cmp();
        while self.eat("&&") {
            let r = self.cmp();
            v = match (truthy(&v), truthy(&r)) {
                (Some(false), _) => v,
                (Some(true), _) => r,
                (None, Some(false)) => r,
                _ => V::Unknown,
            };
        }
        v
    }

    fn cmp(&mut self) -> V {
        let l = self.unary();
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(op) {
                let r = self.unary();
                return match (op, equal(&l, &r)) {
                    ("==", Some(e)) => V::Bool(e),
                    ("!=", Some(e)) => V::Bool(!e),
                    _ => V::Unknown,
                };
            }
        }
        l
    }

    fn unary(&mut self) -> V {
        if self.eat("!") {
            return match truthy(&self.unary()) {
                Some(b) => V::Bool(!b),
                None => V::Unknown,
            };
        }
        self.primary()
    }

    fn primary(&mut self) -> V {
        let Some(tok) = self.peek().cloned() else {
            return V::Unknown;
        };
        self.i += 1;
        match tok {
            Tok::Str(s) => V::Str(s),
            Tok::Num(n) => V::Num(n),
            Tok::Op("(") => {
                let v = self.or();
                self.eat(")");
                v
            }
            Tok::Ident(name) if self.eat("(") => {
                let mut args = Vec::new();
                while !self.eat(")") {
                    if self.peek().is_none() {
                        break;
                    }
                    args.push(self.or());
                    self.eat(",");
                }
                call(&name, &args)
            }
            Tok::Ident(name) => {
                // Index access (`github.event['x']`) and the rest: unknown.
                while self.eat("[") {
                    self.or();
                    self.eat("]");
                }
                self.context(&name)
            }
            Tok::Op(_) => V::Unknown,
        }
    }

    fn context(&self, path: &str) -> V {
        let r = self.run;
        let path = path.to_ascii_lowercase();
        // A `workflow_run` runs on the default branch, whichever branch triggered it.
        if r.event == "workflow_run" && matches!(path.as_str(), "github.ref" | "github.ref_name") {
            return V::Unknown;
        }
        match path.as_str() {
            "true" => V::Bool(true),
            "false" => V::Bool(false),
            "null" => V::Null,
            "github.event_name" => V::Str(r.event.into()),
            "github.ref" => match &r.git_ref {
                Some(g) => V::Str(g.clone()),
                None => V::Prefix(r.ref_prefix.into()),
            },
            "github.ref_type" => V::Str(
                if r.ref_prefix == "refs/tags/" {
                    "tag"
                } else {
                    "branch"
                }
                .into(),
            ),
            "github.ref_name" => match &r.git_ref {
                Some(g) => V::Str(g.trim_start_matches(r.ref_prefix).into()),
                None => V::Unknown,
            },
            "github.event.workflow_run.head_branch" if r.event == "workflow_run" => {
                V::Str(ANY_BRANCH.into())
            }
            "github.head_ref" | "github.base_ref" if r.event != "pull_request" => {
                V::Str(String::new())
            }
            _ => V::Unknown,
        }
    }
}

fn call(name: &str, args: &[V]) -> V {
    let s = |v: &V| match v {
        V::Str(s) => Some(s.to_ascii_lowercase()),
        _ => None,
    };
    match name.to_ascii_lowercase().as_str() {
        "success" | "always" => V::Bool(true),
        // A deploy step under `failure()` or `cancelled()` is a rollback or clean-up: it can run.
        "failure" | "cancelled" => V::Unknown,
        "startswith" => match (args.first(), args.get(1).and_then(s)) {
            (Some(V::Str(a)), Some(b)) => V::Bool(a.to_ascii_lowercase().starts_with(&b)),
            (Some(V::Prefix(p)), Some(b)) => {
                let p = p.to_ascii_lowercase();
                if b.starts_with(&p) && b.len() > p.len() {
                    V::Unknown
                } else {
                    V::Bool(p.starts_with(&b))
                }
            }
            _ => V::Unknown,
        },
        "endswith" | "contains" => match (args.first().and_then(s), args.get(1).and_then(s)) {
            (Some(a), Some(b)) if name.eq_ignore_ascii_case("endswith") => V::Bool(a.ends_with(&b)),
            (Some(a), Some(b)) => V::Bool(a.contains(&b)),
            _ => V::Unknown,
        },
        _ => V::Unknown,
    }
}

/// Equality as Actions compares (strings case-insensitively); None when unknown.
fn equal(l: &V, r: &V) -> Option<bool> {
    match (l, r) {
        (V::Unknown, _) | (_, V::Unknown) => None,
        (V::Str(a), V::Str(b)) => Some(a.eq_ignore_ascii_case(b)),
        (V::Prefix(p), V::Str(s)) | (V::Str(s), V::Prefix(p)) => {
            if s.to_ascii_lowercase().starts_with(&p.to_ascii_lowercase()) {
                None
            } else {
                Some(false)
            }
        }
        (V::Prefix(_), V::Prefix(_)) => None,
        (V::Bool(a), V::Bool(b)) => Some(a == b),
        (V::Num(a), V::Num(b)) => Some(a == b),
        (V::Null, V::Null) => Some(true),
        (V::Str(s), V::Bool(b)) | (V::Bool(b), V::Str(s)) => {
            Some(s.eq_ignore_ascii_case(if *b { "true" } else { "false" }))
        }
        _ => Some(false),
    }
}

fn truthy(v: &V) -> Option<bool> {
    match v {
        V::Bool(b) => Some(*b),
        V::Str(s) => Some(!s.is_empty()),
        V::Prefix(_) => Some(true),
        V::Num(n) => Some(*n != 0.0 && !n.is_nan()),
        V::Null => Some(false),
        V::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_events() {
        let main = Run::push_branch("main");
        let dev = Run::push_branch("dev");
        let tag = Run::push_tag();
        let pr = Run::pull_request();
        let c = "${{ (github.ref == 'refs/heads/main' || github.ref == 'refs/heads/dev') && github.event_name == 'push' }}";
        assert!(may_run(Some(c), &main) && may_run(Some(c), &dev));
        assert!(!may_run(Some(c), &tag) && !may_run(Some(c), &pr));
        let t = "startsWith(github.ref, 'refs/tags/')";
        assert!(may_run(Some(t), &tag) && !may_run(Some(t), &main));
        assert!(may_run(Some("github.ref == 'refs/tags/v1'"), &tag));
        assert!(!may_run(Some("github.ref_type == 'tag'"), &main));
        assert!(!may_run(Some("github.ref_name == 'main'"), &dev));
        assert!(may_run(Some("github.ref != 'refs/heads/main'"), &dev));
    }

    #[test]
    fn unknowns_may_run_and_proofs_do_not() {
        let main = Run::push_branch("main");
        assert!(may_run(
            Some("steps.check.outputs.only_docs != 'true'"),
            &main
        ));
        assert!(may_run(
            Some("github.event.workflow_run.conclusion == 'success'"),
            &main
        ));
        assert!(!may_run(Some("false && steps.x.outputs.y"), &main));
        assert!(!may_run(
            Some("steps.x.outputs.y == 'a' && github.event_name == 'release'"),
            &main
        ));
        assert!(may_run(
            Some("steps.x.outputs.y == 'a' || github.event_name == 'push'"),
            &main
        ));
        assert!(!may_run(Some("!contains(github.ref, 'main')"), &main));
        assert!(may_run(Some("a broken ( expression"), &main));
    }

    #[test]
    fn dispatch_from_any_branch() {
        let any = Run::from_any_branch("workflow_dispatch");
        assert!(!may_run(Some("github.ref == 'refs/heads/master'"), &any));
        assert!(may_run(
            Some("github.event_name == 'workflow_dispatch'"),
            &any
        ));
        let wr = Run::from_any_branch("workflow_run");
        assert!(!may_run(
            Some("github.event.workflow_run.head_branch == 'main'"),
            &wr
        ));
    }
}
