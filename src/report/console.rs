//! Where progress text goes: the terminal or the Actions log. Every line passes the redactor.
//!
//! Under Actions (`GITHUB_ACTIONS=true`) long phases are wrapped in `::group::`; outside it
//! the same information prints as plain text.

use super::gha;
use crate::secret::Redactor;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Console {
    pub redactor: Redactor,
    pub in_actions: bool,
    pub verbose: bool,
    pub color: bool,
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("in_actions", &self.in_actions)
            .finish()
    }
}

impl Console {
    pub fn new(redactor: Redactor, in_actions: bool, verbose: bool, color: bool) -> Self {
        Console::with_sink(
            redactor,
            in_actions,
            verbose,
            color,
            Box::new(std::io::stderr()),
        )
    }

    pub fn with_sink(
        redactor: Redactor,
        in_actions: bool,
        verbose: bool,
        color: bool,
        sink: Box<dyn Write + Send>,
    ) -> Self {
        Console {
            redactor,
            in_actions,
            verbose,
            color,
            sink: Arc::new(Mutex::new(sink)),
        }
    }

    /// A console that keeps what is written, for tests.
    pub fn capture(redactor: Redactor) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let console = Console::with_sink(
            redactor,
            false,
            true,
            false,
            Box::new(SharedBuf(buf.clone())),
        );
        (console, buf)
    }

    fn raw(&self, line: &str) {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(sink, "{line}");
    }

    /// Register a secret and, under Actions, mask it before anything else can print it.
    pub(crate) fn mask(&self, secret: &str) {
        if self.redactor.add(secret) && self.in_actions {
            // The mask command itself must carry the value; it is the one line we never redact.
            self.raw(&gha::add_mask(secret.trim()));
        }
    }

    pub(crate) fn info(&self, msg: impl AsRef<str>) {
        self.raw(&self.redactor.redact(msg.as_ref()));
    }

    pub(crate) fn debug(&self, msg: impl AsRef<str>) {
        if self.verbose {
            let text = self.redactor.redact(msg.as_ref());
            if self.in_actions {
                self.raw(&format!("::debug::{}", gha::escape_data(&text)));
            } else {
                self.raw(&format!("debug: {text}"));
            }
        }
    }

    /// Something a person should see without it being wrong (`::notice::` under Actions).
    pub fn notice(&self, msg: impl AsRef<str>) {
        let text = self.redactor.redact(msg.as_ref());
        if self.in_actions {
            self.raw(&format!("::notice::{}", gha::escape_data(&text)));
        } else {
            self.raw(&format!("notice: {text}"));
        }
    }

    pub(crate) fn warn(&self, msg: impl AsRef<str>) {
        let text = self.redactor.redact(msg.as_ref());
        if self.in_actions {
            self.raw(&format!("::warning::{}", gha::escape_data(&text)));
        } else if self.color {
            self.raw(&format!("\x1b[33mwarning\x1b[0m: {text}"));
        } else {
            self.raw(&format!("warning: {text}"));
        }
    }

    pub(crate) fn error(&self, msg: impl AsRef<str>) {
        let text = self.redactor.redact(msg.as_ref());
        if self.in_actions {
            self.raw(&format!("::error::{}", gha::escape_data(&text)));
        } else if self.color {
            self.raw(&format!("\x1b[31merror\x1b[0m: {text}"));
        } else {
            self.raw(&format!("error: {text}"));
        }
    }

    /// Start a log group; the returned guard ends it.
    pub(crate) fn group(&self, title: impl AsRef<str>) -> Group<'_> {
        let title = self.redactor.redact(title.as_ref());
        if self.in_actions {
            self.raw(&gha::group_start(&title));
        } else {
            self.raw(&format!("── {title}"));
        }
        Group { console: self }
    }

    /// Print an annotation command (Actions) or the human rendering.
    pub fn diagnostic(&self, d: &super::Diagnostic) {
        if self.in_actions {
            self.raw(&self.redactor.redact(&gha::annotation(d)));
        } else {
            self.raw(&self.redactor.redact(d.render_human().trim_end()));
        }
    }
}

pub(crate) struct Group<'a> {
    console: &'a Console,
}

impl Drop for Group<'_> {
    fn drop(&mut self) {
        if self.console.in_actions {
            self.console.raw(gha::group_end());
        }
    }
}

struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
        String::from_utf8(buf.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn secrets_are_redacted_from_every_line() {
        let (console, buf) = Console::capture(Redactor::new());
        console.mask("s3cr3t-token");
        console.info("calling with s3cr3t-token");
        console.warn("s3cr3t-token again");
        console.error("and s3cr3t-token");
        let out = text(&buf);
        assert!(!out.contains("s3cr3t-token"), "{out}");
        assert_eq!(out.matches("***").count(), 3);
    }

    #[test]
    fn mask_is_emitted_first_under_actions() {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let console = Console::with_sink(
            Redactor::new(),
            true,
            false,
            false,
            Box::new(SharedBuf(buf.clone())),
        );
        console.mask("tok-123456");
        console.info("tok-123456");
        assert_eq!(text(&buf), "::add-mask::tok-123456\n***\n");
    }
}
