//! The request log: every request any simulator port received (admin routes excepted), in
//! order, with secrets redacted, so a test can assert exactly which calls were made.
//!
//! Entries are kept in memory and, when a file is configured (`STAGE_GATE_SIM_LOG` or
//! `--log FILE` in the binary), appended to it as JSON lines.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// `fly`, `coolify`, `github`, `uploads` or `health`.
    pub vendor: String,
    pub method: String,
    pub path: String,
    /// The raw query string, when there was one.
    pub query: Option<String>,
    /// Lower-cased header names; credentials shown as `<scheme> ***`.
    pub headers: BTreeMap<String, String>,
    /// The request body: JSON when it parses, else the text; absent when empty.
    pub body: Option<serde_json::Value>,
    /// The status answered; absent when the connection was reset instead.
    pub status: Option<u16>,
}

impl LogEntry {
    /// `"POST /v1/apps/a/machines/m/lease?ttl=13"`: handy for asserting call sequences.
    pub fn line(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{}", self.method, self.path, q),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// Header names whose values are credentials.
fn is_secret_header(name: &str) -> bool {
    const WORDS: [&str; 6] = [
        "authorization",
        "token",
        "secret",
        "cookie",
        "api-key",
        "password",
    ];
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|w| name.contains(w))
}

/// `Bearer abc` → `Bearer ***`; a value without a scheme → `***`.
pub fn redact_header(name: &str, value: &str) -> String {
    if !is_secret_header(name) {
        return value.to_string();
    }
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} ***"),
        None => "***".to_string(),
    }
}

/// Parse a request body for the log.
pub fn body_value(bytes: &[u8]) -> Option<serde_json::Value> {
    if bytes.is_empty() {
        return None;
    }
    serde_json::from_slice(bytes).ok().or_else(|| {
        Some(serde_json::Value::String(
            String::from_utf8_lossy(bytes).into(),
        ))
    })
}

#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Vec<LogEntry>,
    file: Option<PathBuf>,
}

impl RequestLog {
    pub fn new(file: Option<PathBuf>) -> Self {
        RequestLog {
            entries: Vec::new(),
            file,
        }
    }

    pub fn push(&mut self, entry: LogEntry) {
        if let Some(path) = &self.file {
            // A log file that cannot be written must not break the simulated API.
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                if let Ok(line) = serde_json::to_string(&entry) {
                    let _ = writeln!(f, "{line}");
                }
            }
        }
        self.entries.push(entry);
    }

    pub fn entries(&self) -> Vec<LogEntry> {
        self.entries.clone()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted_keeping_the_scheme() {
        assert_eq!(
            redact_header("Authorization", "Bearer s3cret"),
            "Bearer ***"
        );
        assert_eq!(
            redact_header("authorization", "FlyV1 fm2_abc,fm2_def"),
            "FlyV1 ***"
        );
        assert_eq!(redact_header("x-api-token", "abc"), "***");
        assert_eq!(redact_header("fly-machine-lease-nonce", "n1"), "n1");
    }

    #[test]
    fn bodies_are_json_or_text() {
        assert_eq!(body_value(b""), None);
        assert_eq!(body_value(br#"{"a":1}"#), Some(serde_json::json!({"a":1})));
        assert_eq!(body_value(b"plain"), Some(serde_json::json!("plain")));
    }

    #[test]
    fn file_gets_json_lines() {
        let dir = std::env::temp_dir().join(format!("sim-log-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("log.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut log = RequestLog::new(Some(path.clone()));
        let entry = LogEntry {
            vendor: "fly".into(),
            method: "GET".into(),
            path: "/v1/apps/a".into(),
            query: None,
            headers: BTreeMap::new(),
            body: None,
            status: Some(200),
        };
        log.push(entry.clone());
        log.push(entry.clone());
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<LogEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines, vec![entry.clone(), entry]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
