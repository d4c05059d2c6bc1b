//! Secrets: a newtype that never prints, and a redactor that scrubs known secret values
//! from any text before it leaves the process.

use hmac::{Hmac, Mac};
use sha2::Sha256;
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
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
    pub(crate) fn is_empty(&self) -> bool {
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
    known: Arc<RwLock<Known>>,
}

/// The secrets and every spelling of them that is replaced, both longest first (a secret
/// that contains another is replaced whole). Spellings are worked out once, when a secret is
/// added: `redact` runs on every line printed and every body sent.
#[derive(Default, Debug)]
struct Known {
    values: Vec<String>,
    forms: Vec<String>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember a secret; returns true when it was new (so the caller can emit `::add-mask::`).
    pub(crate) fn add(&self, secret: &str) -> bool {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return false;
        }
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.values.iter().any(|v| v == secret) {
            return false;
        }
        known.values.push(secret.to_string());
        known.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for form in forms(secret) {
            if !known.forms.contains(&form) {
                known.forms.push(form);
            }
        }
        known.forms.sort_by_key(|v| std::cmp::Reverse(v.len()));
        true
    }

    pub fn values(&self) -> Vec<String> {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values
            .clone()
    }

    /// Replace every known secret in `text` with `***`: the whole value, its JSON-escaped
    /// forms (PHP escapes `/`), and any piece of it of [`MIN_PIECE`] or more characters that
    /// starts where the secret starts — what a vendor's echo or an earlier cut leaves behind.
    pub(crate) fn redact(&self, text: &str) -> String {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        let mut out = text.to_string();
        for form in &known.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "***");
            }
        }
        for v in &known.values {
            out = redact_prefixes(&out, v);
        }
        out
    }

    /// Redact, then cut to `max` bytes: the only safe order (a cut first could leave a prefix
    /// of a secret that no longer matches it whole).
    pub(crate) fn redact_and_truncate(&self, text: &str, max: usize) -> String {
        truncate(&self.redact(text), max)
    }
}

/// The shortest piece of a secret that is redacted on its own (a prefix left by a cut).
pub(crate) const MIN_PIECE: usize = 8;

/// The spellings of a secret that may appear in text: as is, JSON-escaped, and with PHP's
/// escaped slashes.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    for f in [json.clone(), json.replace('/', "\\/")] {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// Where the secret part of a value starts: after the scheme and host of a URL (a webhook
/// URL's host is no secret, its path is), else at 0.
fn secret_start(secret: &str) -> usize {
    match secret.find("://") {
        Some(i) => secret[i + 3..]
            .find('/')
            .map(|j| i + 3 + j + 1)
            .unwrap_or(secret.len()),
        None => 0,
    }
}

/// Replace each run of `text` that is a prefix of `secret` of [`MIN_PIECE`]+ characters
/// (past its non-secret start) with `***`.
fn redact_prefixes(text: &str, secret: &str) -> String {
    let start = secret_start(secret);
    let s = secret.as_bytes();
    // The shortest redacted head, widened to a character boundary (never a panic).
    let mut head_len = start + MIN_PIECE;
    while head_len < s.len() && !secret.is_char_boundary(head_len) {
        head_len += 1;
    }
    if s.len() < head_len {
        return text.to_string();
    }
    let head = &secret[..head_len];
    if !text.contains(head) {
        return text.to_string();
    }
    let t = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = text[i..].find(head) {
        let at = i + found;
        let mut end = at + head.len();
        while end < t.len() && end - at < s.len() && t[end] == s[end - at] {
            end += 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push_str(&text[i..at]);
        out.push_str(&text[at..at + start]);
        out.push_str("***");
        i = end;
    }
    out.push_str(&text[i..]);
    out
}

/// At most `max` bytes of `s` (cut at a character boundary, marked with `…`). Redaction
/// comes first, always: a secret cut in half would no longer be recognised.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The header a signed webhook carries (stage-gate's events and the webhook provider).
pub const SIGNATURE_HEADER: &str = "X-Stage-Gate-Signature";

/// `sha256=<hex>` of the body under `secret`.
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    // HMAC accepts keys of any length; new_from_slice cannot fail for Hmac<Sha256>.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Constant-time check of a received signature (what a receiver does; used by our tests
/// and documented for orchestrators).
pub fn verify(secret: &Secret, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
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
    fn prefixes_and_escaped_forms_are_redacted() {
        let r = Redactor::new();
        r.add("3|WaobqX9tJQshKPuQFHsyApxuOOggg4wOfvGc9xa2");
        // A vendor echoing the first 16 characters, and a cut that kept 9 of them.
        assert_eq!(
            r.redact("token 3|WaobqX9tJQshKP… refused"),
            "token ***… refused"
        );
        assert_eq!(r.redact("Bearer 3|WaobqX9t"), "Bearer ***");
        // Seven characters say nothing about the token and stay readable.
        assert_eq!(r.redact("3|Waobq"), "3|Waobq");
        r.add("https://hooks.example.com/services/T0/B0/abcdefgh");
        assert_eq!(
            r.redact(r#"{"url":"https:\/\/hooks.example.com\/services\/T0\/B0\/abcdefgh"}"#),
            r#"{"url":"***"}"#
        );
        // The host of a secret URL is not the secret: other URLs on it stay readable.
        assert_eq!(
            r.redact("see https://hooks.example.com/docs"),
            "see https://hooks.example.com/docs"
        );
        assert_eq!(
            r.redact("POST https://hooks.example.com/services/T0/B"),
            "POST https://hooks.example.com/***"
        );
    }

    #[test]
    fn secrets_beyond_ascii_never_panic() {
        let r = Redactor::new();
        // Byte 8 falls inside `ä`: the head widens to the next character boundary.
        r.add("aääääbcdef");
        assert_eq!(r.redact("x aääääbcdef y"), "x *** y");
        assert_eq!(r.redact("cut: aääää…"), "cut: ***…");
    }

    #[test]
    fn redaction_comes_before_the_cut() {
        let r = Redactor::new();
        r.add("ghp_0123456789abcdefghij");
        let text = format!("{}ghp_0123456789abcdefghij tail", "x".repeat(30));
        let cut = r.redact_and_truncate(&text, 40);
        assert!(!cut.contains("ghp_0123"), "{cut}");
    }

    #[test]
    fn short_values_are_not_secrets() {
        let r = Redactor::new();
        assert!(!r.add("1"));
        assert_eq!(r.redact("1 2 3"), "1 2 3");
    }
}
