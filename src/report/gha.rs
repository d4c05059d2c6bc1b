//! GitHub Actions workflow commands and files: step outputs, the step summary,
//! annotations, masks and log groups. Nothing else in the crate writes these formats.

use super::diagnostic::{Diagnostic, Severity};
use rand::Rng;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// Append `name=value` to a `$GITHUB_OUTPUT`-style file. Multi-line values (and values
/// that could be mistaken for a delimiter) use the heredoc form with a random delimiter
/// that is guaranteed not to occur in the value.
pub fn write_output(file: &Path, name: &str, value: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(file)?;
    f.write_all(format_output(name, value).as_bytes())
}

pub fn format_output(name: &str, value: &str) -> String {
    if !value.contains('\n') && !value.contains('\r') {
        return format!("{name}={value}\n");
    }
    let delimiter = loop {
        let token: u64 = rand::rng().random();
        let d = format!("ghadelimiter_{token:016x}");
        if !value.contains(&d) {
            break d;
        }
    };
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Append Markdown to `$GITHUB_STEP_SUMMARY`.
pub fn append_summary(file: &Path, markdown: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(file)?;
    f.write_all(markdown.as_bytes())?;
    if !markdown.ends_with('\n') {
        f.write_all(b"\n")?;
    }
    Ok(())
}

/// Escape data for a workflow command message (GitHub's `escapeData`).
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command property value (GitHub's `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub(crate) fn add_mask(value: &str) -> String {
    format!("::add-mask::{}", escape_data(value))
}

pub(crate) fn group_start(title: &str) -> String {
    format!("::group::{}", escape_data(title))
}

pub(crate) fn group_end() -> &'static str {
    "::endgroup::"
}

/// `::error file=…,line=…,col=…,title=…::message`
pub fn annotation(d: &Diagnostic) -> String {
    let cmd = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    };
    let loc = &d.location;
    let mut props = vec![format!(
        "file={}",
        escape_property(&loc.file.to_string_lossy())
    )];
    if loc.line > 0 {
        props.push(format!("line={}", loc.line));
    }
    if loc.column > 0 {
        props.push(format!("col={}", loc.column));
    }
    props.push(format!("title={}", escape_property(&d.rule)));
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!("::{cmd} {}::{}", props.join(","), escape_data(&message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::diagnostic::Location;

    #[test]
    fn single_line_output() {
        assert_eq!(format_output("version", "1.2.3"), "version=1.2.3\n");
    }

    #[test]
    fn multi_line_output_uses_a_heredoc() {
        let out = format_output("notes", "a\nb");
        let mut lines = out.lines();
        let head = lines.next().unwrap();
        let delim = head.strip_prefix("notes<<").unwrap();
        assert_eq!(lines.next(), Some("a"));
        assert_eq!(lines.next(), Some("b"));
        assert_eq!(lines.next(), Some(delim));
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn delimiter_never_occurs_in_the_value() {
        // A value that contains text shaped like our delimiters still gets a fresh one.
        let value = "ghadelimiter_0000000000000000\nline";
        for _ in 0..50 {
            let out = format_output("x", value);
            let delim = out.lines().next().unwrap().strip_prefix("x<<").unwrap();
            assert!(!value.contains(delim));
            assert!(out.ends_with(&format!("\n{delim}\n")));
        }
    }

    #[test]
    fn outputs_append_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        write_output(&path, "a", "1").unwrap();
        write_output(&path, "b", "x\ny").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("a=1\nb<<ghadelimiter_"));
    }

    #[test]
    fn annotation_escapes_properties_and_data() {
        let d = Diagnostic::error(
            "fly/x",
            "bad: 50%\nsecond",
            Location::new("a,b:c.toml", 3, 7),
        );
        assert_eq!(
            annotation(&d),
            "::error file=a%2Cb%3Ac.toml,line=3,col=7,title=fly/x::bad: 50%25%0Asecond"
        );
    }

    #[test]
    fn mask_escapes_newlines() {
        assert_eq!(add_mask("a\nb"), "::add-mask::a%0Ab");
    }
}
