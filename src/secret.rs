//! Secrets: a newtype that never prints, and a redactor that scrubs known secret values
//! from any text before it leaves the process.

use std::fmt;
use std::sync::{Arc, RwLock};

/// A secret value. `Debug` and `Display` print `***`; it is never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The raw value, for the one place that must send it (an HTTP header, a child's env).
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Values shorter than this are not redacted: masking "1" or "true" would shred output,
/// and GitHub's own masker has the same floor in spirit.
const MIN_SECRET_LEN: usize = 4;

/// Every secret value seen in this run. Cloning shares the set.
#[derive(Clone, Default, Debug)]
pub struct Redactor {
    values: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember a secret; returns true when it was new (so the caller can emit `::add-mask::`).
    pub fn add(&self, secret: &str) -> bool {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return false;
        }
        let mut values = self.values.write().unwrap_or_else(|p| p.into_inner());
        if values.iter().any(|v| v == secret) {
            return false;
        }
        values.push(secret.to_string());
        // Longest first, so a secret that contains another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        true
    }

    pub fn values(&self) -> Vec<String> {
        self.values
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replace every known secret in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        let values = self.values.read().unwrap_or_else(|p| p.into_inner());
        let mut out = text.to_string();
        for v in values.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("fm2_abcdef");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.expose(), "fm2_abcdef");
    }

    #[test]
    fn redactor_scrubs_longest_first() {
        let r = Redactor::new();
        assert!(r.add("abcd"));
        assert!(r.add("abcdefgh"));
        assert!(!r.add("abcd"));
        assert_eq!(r.redact("x abcdefgh y abcd"), "x *** y ***");
    }

    #[test]
    fn short_values_are_not_secrets() {
        let r = Redactor::new();
        assert!(!r.add("1"));
        assert_eq!(r.redact("1 2 3"), "1 2 3");
    }
}
