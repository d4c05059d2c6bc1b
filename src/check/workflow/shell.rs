//! A `run:` script as commands of shell words, so that a deploy is recognised by its argv
//! (`flyctl -c fly.toml deploy`, `curl … "$HOOK"`), never by a substring of the text: an
//! `echo "run flyctl deploy"` or a path `scripts/coolify/` is not a deploy.
//!
//! Not a shell: quotes, escapes, `#` comments, continuations, heredoc bodies, operators
//! (`&&`, `||`, `;`, `|`, `&`, `(`, `)`) and command substitution (`$(…)`, backticks start a
//! command of their own) are understood; expansions are kept as written (`$APP`, `${{ … }}`).
//! `shlex` splits one command line but knows no operators or offsets, hence this small lexer.

/// One word, unquoted, with the byte offset in the script where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub offset: usize,
}

/// One simple command: its words in order (leading `NAME=value` assignments removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
    /// Assignments written before the program (`FLY_API_TOKEN=… flyctl deploy`).
    pub assignments: Vec<String>,
}

impl Command {
    /// The program's file name (`/usr/local/bin/flyctl` → `flyctl`), past `sudo`, `env`,
    /// `time`, `exec`, `command`.
    pub fn program(&self) -> Option<(usize, &str)> {
        let mut i = 0;
        while let Some(w) = self.words.get(i) {
            let name = w.text.rsplit('/').next().unwrap_or(&w.text);
            match name {
                "sudo" | "env" | "time" | "exec" | "command" | "nohup" => i += 1,
                _ => return Some((i, name)),
            }
        }
        None
    }

    /// The words after the program.
    pub fn args(&self) -> &[Word] {
        match self.program() {
            Some((i, _)) => &self.words[i + 1..],
            None => &[],
        }
    }

    pub fn offset(&self) -> usize {
        self.words.first().map_or(0, |w| w.offset)
    }
}

/// Split `script` into simple commands.
pub fn commands(script: &str) -> Vec<Command> {
    let mut out = Vec::new();
    let mut current: Vec<Word> = Vec::new();
    let mut heredocs: Vec<(String, bool)> = Vec::new();
    let bytes = script.as_bytes();
    let mut i = 0;
    let flush = |current: &mut Vec<Word>, out: &mut Vec<Command>| {
        if current.is_empty() {
            return;
        }
        let words = std::mem::take(current);
        let split = words
            .iter()
            .position(|w| !is_assignment(&w.text))
            .unwrap_or(words.len());
        let assignments = words[..split].iter().map(|w| w.text.clone()).collect();
        let words = words[split..].to_vec();
        if !words.is_empty() {
            out.push(Command { words, assignments });
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                flush(&mut current, &mut out);
                i += 1;
                // Heredoc bodies are data, not commands.
                for (tag, strip_tabs) in std::mem::take(&mut heredocs) {
                    i = skip_heredoc(script, i, &tag, strip_tabs);
                }
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b';' | b'&' | b'|' | b'(' | b')' | b'`' | b'{' | b'}'
                if c != b'{' && c != b'}' || is_brace_word(bytes, i) =>
            {
                flush(&mut current, &mut out);
                i += 1;
            }
            b'<' if script[i..].starts_with("<<") && !script[i..].starts_with("<<<") => {
                let (tag, strip, next) = heredoc_tag(script, i + 2);
                if let Some(tag) = tag {
                    heredocs.push((tag, strip));
                }
                i = next;
            }
            b'<' | b'>' => {
                // A redirection: the operator and its target are not arguments.
                i += 1;
                while i < bytes.len() && matches!(bytes[i], b'>' | b'&' | b'<') {
                    i += 1;
                }
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
                    i += 1;
                }
                let (_, next) = word(script, i);
                i = next;
            }
            _ => {
                if c == b'$' && bytes.get(i + 1) == Some(&b'(') && bytes.get(i + 2) != Some(&b'(') {
                    // `$(` starts a command of its own; the word before it stays in the outer one.
                    flush(&mut current, &mut out);
                    i += 2;
                    continue;
                }
                let (text, next) = word(script, i);
                if next == i {
                    i += 1;
                    continue;
                }
                // A digit before a redirection (`2>&1`) is a file descriptor, not a word.
                if text.chars().all(|c| c.is_ascii_digit())
                    && matches!(bytes.get(next), Some(b'>') | Some(b'<'))
                {
                    i = next;
                    continue;
                }
                current.push(Word { text, offset: i });
                i = next;
            }
        }
    }
    flush(&mut current, &mut out);
    out
}

/// `{` and `}` are operators only as words of their own (`{ a; b; }`), not in `${X}`.
fn is_brace_word(bytes: &[u8], i: usize) -> bool {
    let before = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b';');
    let after = bytes
        .get(i + 1)
        .is_none_or(|c| matches!(c, b' ' | b'\t' | b'\n' | b';'));
    before && after
}

fn is_assignment(w: &str) -> bool {
    let Some((name, _)) = w.split_once('=') else {
        return false;
    };
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// One word from `start`: quotes removed, escapes applied, `${{ … }}` and `${…}` kept whole.
fn word(s: &str, start: usize) -> (String, usize) {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
            | b'`' => break,
            b'\'' => {
                let end = s[i + 1..].find('\'').map_or(b.len(), |e| i + 1 + e);
                out.push_str(&s[i + 1..end]);
                i = (end + 1).min(b.len());
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\'
                        && i + 1 < b.len()
                        && matches!(b[i + 1], b'"' | b'\\' | b'$' | b'`')
                    {
                        i += 1;
                    } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                        i += 2;
                        continue;
                    }
                    let ch = s[i..].chars().next().unwrap_or(' ');
                    out.push(ch);
                    i += ch.len_utf8();
                }
                i = (i + 1).min(b.len());
            }
            b'\\' if i + 1 < b.len() => {
                if b[i + 1] != b'\n' {
                    let ch = s[i + 1..].chars().next().unwrap_or(' ');
                    out.push(ch);
                    i += 1 + ch.len_utf8();
                } else {
                    i += 2;
                }
            }
            b'$' if s[i..].starts_with("${{") => {
                let end = s[i..].find("}}").map_or(b.len(), |e| i + e + 2);
                out.push_str(&s[i..end]);
                i = end;
            }
            b'$' if s[i..].starts_with("${") => {
                let end = s[i..].find('}').map_or(b.len(), |e| i + e + 1);
                out.push_str(&s[i..end]);
                i = end;
            }
            b'$' if s[i..].starts_with("$(") => break,
            _ => {
                let ch = s[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    (out, i)
}

/// The delimiter after `<<` (`EOF`, `'EOF'`, `-EOF`): (tag, strip tabs, offset after it).
fn heredoc_tag(s: &str, mut i: usize) -> (Option<String>, bool, usize) {
    let b = s.as_bytes();
    let strip = b.get(i) == Some(&b'-');
    if strip {
        i += 1;
    }
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    let (tag, next) = word(s, i);
    ((!tag.is_empty()).then_some(tag), strip, next)
}

fn skip_heredoc(s: &str, mut i: usize, tag: &str, strip_tabs: bool) -> usize {
    while i < s.len() {
        let end = s[i..].find('\n').map_or(s.len(), |e| i + e);
        let line = &s[i..end];
        let line = if strip_tabs {
            line.trim_start_matches('\t')
        } else {
            line
        };
        i = (end + 1).min(s.len());
        if line.trim_end() == tag {
            break;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(script: &str) -> Vec<Vec<String>> {
        commands(script)
            .into_iter()
            .map(|c| c.words.into_iter().map(|w| w.text).collect())
            .collect()
    }

    #[test]
    fn operators_split_commands_and_quotes_join_words() {
        assert_eq!(
            argv("cd auth && flyctl deploy --remote-only\necho \"flyctl deploy\" # fly deploy"),
            vec![
                vec!["cd", "auth"],
                vec!["flyctl", "deploy", "--remote-only"],
                vec!["echo", "flyctl deploy"],
            ]
        );
    }

    #[test]
    fn continuations_substitutions_and_redirections() {
        let s = "response=$(curl -s -o /dev/null -w \"%{http_code}\" -X POST \\\n  -H \"Authorization: Bearer $T\" \\\n  \"https://c.example/api/v1/deploy?uuid=x&force=false\")\nif [[ \"$response\" != 2* ]]; then exit 1; fi 2>&1";
        let a = argv(s);
        assert_eq!(
            a[0],
            vec![
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "POST",
                "-H",
                "Authorization: Bearer $T",
                "https://c.example/api/v1/deploy?uuid=x&force=false"
            ]
        );
        assert_eq!(a[1][0], "if");
    }

    #[test]
    fn assignments_and_wrappers_are_not_the_program() {
        let c = &commands("FLY_API_TOKEN=x sudo -E flyctl deploy")[0];
        assert_eq!(c.assignments, vec!["FLY_API_TOKEN=x"]);
        assert_eq!(c.program().map(|p| p.1), Some("-E"));
        let c = &commands("~/.fly/bin/flyctl --app a deploy")[0];
        assert_eq!(c.program().map(|p| p.1), Some("flyctl"));
        assert_eq!(c.args()[0].text, "--app");
    }

    #[test]
    fn expressions_and_braces_stay_whole() {
        assert_eq!(
            argv("flyctl -c ${{ env.FLY_CONFIG }} deploy --image registry.fly.io/${APP}:x"),
            vec![vec![
                "flyctl",
                "-c",
                "${{ env.FLY_CONFIG }}",
                "deploy",
                "--image",
                "registry.fly.io/${APP}:x"
            ]]
        );
    }

    #[test]
    fn heredoc_bodies_are_not_commands() {
        let a = argv("cat <<EOF > notes.md\nflyctl deploy\nEOF\nfly deploy --detach");
        assert_eq!(a, vec![vec!["cat"], vec!["fly", "deploy", "--detach"]]);
    }

    #[test]
    fn offsets_point_at_each_word() {
        let s = "echo x\n  flyctl deploy";
        let c = &commands(s)[1];
        assert_eq!(&s[c.offset()..c.offset() + 6], "flyctl");
    }
}
