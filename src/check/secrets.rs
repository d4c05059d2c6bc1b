//! Plain-text secret detection for `[env]` values: which names hold secrets, which values
//! are placeholders, and which values are credentials whatever their name. Pure functions;
//! callers turn a finding into a diagnostic.

use regex::Regex;
use std::sync::LazyLock;

/// Why a value looks like a secret written in plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A URL carrying a password (`postgres://user:pass@host`).
    UrlCredentials,
    /// A value in a well-known token format (GitHub, Stripe, AWS, Slack, PEM keys).
    TokenFormat(&'static str),
    /// A secret-named variable (`DB_PASSWORD`) with a real-looking value.
    SecretName,
}

impl Finding {
    pub fn describe(&self, name: &str) -> String {
        match self {
            Finding::UrlCredentials => format!("`{name}` is a URL with a password in it"),
            Finding::TokenFormat(kind) => format!("`{name}` holds what looks like {kind}"),
            Finding::SecretName => format!("`{name}` looks like a secret written in plain text"),
        }
    }
}

/// Name words that mean the value is a secret.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PWD",
    "PASS",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "SECRET_KEY",
    "API_KEY",
    "AUTH_KEY",
    "CREDENTIALS",
];

/// Name words that make a secret-sounding name a setting about secrets
/// (`PASSWORD_MIN_LENGTH`, `TOKEN_EXPIRY`) or a value that is public by design
/// (Algolia search-only keys, Supabase anon keys, Stripe publishable keys).
const SETTING_WORDS: &[&str] = &[
    "MIN",
    "MAX",
    "LENGTH",
    "LEN",
    "REQUIRE",
    "REQUIRED",
    "EXPIRY",
    "EXPIRE",
    "EXPIRES",
    "TTL",
    "TIMEOUT",
    "RESET",
    "RESETS",
    "DAYS",
    "HOURS",
    "ROUNDS",
    "COST",
    "ENABLED",
    "ENABLE",
    "DISABLED",
    "FILE",
    "PATH",
    "DIR",
    "NAME",
    "HEADER",
    "FIELD",
    "PARAM",
    "LIFETIME",
    "AGE",
    "COUNT",
    "LIMIT",
    "STRENGTH",
    "POLICY",
    "ALGORITHM",
    "ALGO",
    "TYPE",
    "ID",
    "USER",
    "USERNAME",
    "ENV",
    "VAR",
    "PUBLIC",
    "PUBLISHABLE",
    "SEARCH",
    "ANON",
    "SITE",
    "PREFIX",
];

static TOKEN_FORMATS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        (
            "a GitHub token",
            r"^(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})$",
        ),
        ("a Stripe secret key", r"^(sk|rk)_live_[A-Za-z0-9]{16,}$"),
        ("an AWS access key id", r"^(AKIA|ASIA)[0-9A-Z]{16}$"),
        ("a Slack token", r"^xox[abprs]-[A-Za-z0-9-]{10,}$"),
        ("a Fly.io token", r"^(FlyV1 |fm[12]_)[A-Za-z0-9+/=_,-]{20,}"),
        ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    ]
    .into_iter()
    .filter_map(|(kind, re)| Regex::new(re).ok().map(|re| (kind, re)))
    .collect()
});

// scheme://user:password@host — the password part must be non-empty.
static URL_CREDENTIALS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:([^/@\s]+)@").ok());

/// Check one `[env]` entry. `value` is the string form of the value; numbers and booleans
/// are passed as their text (they are never secrets, but a name check still sees them).
pub fn check(name: &str, value: &str) -> Option<Finding> {
    let value = value.trim();
    if let Some(re) = URL_CREDENTIALS.as_ref() {
        if let Some(pass) = re.captures(value).and_then(|c| c.get(1)) {
            if !is_placeholder(pass.as_str()) {
                return Some(Finding::UrlCredentials);
            }
        }
    }
    if let Some((kind, _)) = TOKEN_FORMATS.iter().find(|(_, re)| re.is_match(value)) {
        return Some(Finding::TokenFormat(kind));
    }
    if is_secret_name(name) && !is_placeholder(value) && !is_plain_setting(value) {
        return Some(Finding::SecretName);
    }
    None
}

/// Whether `name` names a secret rather than a setting about one.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase().replace(['-', '.'], "_");
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    let joined = words.join("_");
    let secret = SECRET_WORDS.iter().any(|w| {
        if w.contains('_') {
            joined.contains(w)
        } else {
            words.contains(w)
        }
    });
    secret && !words.iter().any(|w| SETTING_WORDS.contains(w))
}

/// Obvious stand-ins for a real value: `{YOUR_PASSWORD}`, `<token>`, `${DB_PASS}`, `changeme`.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return true;
    }
    let wrapped = |open: char, close: char| v.starts_with(open) && v.ends_with(close);
    if wrapped('{', '}') || wrapped('<', '>') || wrapped('[', ']') || wrapped('%', '%') {
        return true;
    }
    if v.starts_with('$') {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "changeme",
        "change_me",
        "change-me",
        "placeholder",
        "replace_me",
        "replace-me",
        "replaceme",
        "redacted",
        "todo",
        "tbd",
        "dummy",
        "unused",
        "example",
        "none",
        "null",
        "nil",
        "undefined",
        "secret",
        "password",
        "token",
        "xxx",
        "foo",
        "bar",
        "test",
    ];
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    if v.chars()
        .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
    {
        return true;
    }
    lower.starts_with("your_")
        || lower.starts_with("your-")
        || lower.starts_with("your ")
        || lower.contains("change_me")
        || lower.contains("changeme")
        || lower.ends_with("_here")
        || lower.ends_with("-here")
}

/// Values that configure rather than authenticate: numbers, booleans, absolute paths.
fn is_plain_setting(value: &str) -> bool {
    value.parse::<f64>().is_ok()
        || matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off"
        )
        || value.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_passwords_are_found() {
        assert_eq!(
            check("SPRING_DATASOURCE_PASSWORD", "a-password"),
            Some(Finding::SecretName)
        );
        assert_eq!(
            check("DB_PASSWORD", "compose-postgres"),
            Some(Finding::SecretName)
        );
        assert_eq!(
            check("SECRET_KEY_BASE", "a8f9c0d1e2"),
            Some(Finding::SecretName)
        );
        assert_eq!(
            check("GITHUB_TOKEN", "abc123def"),
            Some(Finding::SecretName)
        );
    }

    #[test]
    fn settings_about_passwords_are_not_secrets() {
        for (k, v) in [
            ("PASSWORD_MIN_LENGTH", "12"),
            ("PASSWORD_REQUIRE_NUMBER", "true"),
            ("PASSWORD_RESET_EXPIRY", "1800"),
            ("KEEP_PASSWORD_RESETS_DAYS", "90"),
            ("PASSPORT_SCORER_ID", "335"),
            ("SESSION_KEY", "_penny-session"),
            ("ALGOLIA_SEARCH_API_KEY", "54cb86f54a675d0bd897ce1e074b922c"),
            ("NEXT_PUBLIC_SUPABASE_ANON_KEY", "eyJhbGciOi"),
            ("DB_PASSWORD_FILE", "/run/secrets/db"),
            ("TOKEN_TTL", "3600"),
        ] {
            assert_eq!(check(k, v), None, "{k} = {v}");
        }
    }

    #[test]
    fn placeholders_are_not_secrets() {
        for v in [
            "{YOUR_PASSWORD}",
            "<token>",
            "${DB_PASS}",
            "changeme",
            "",
            "unused",
            "****",
        ] {
            assert_eq!(check("DB_PASSWORD", v), None, "{v}");
        }
        assert_eq!(check("SEND_GRID_KEY", "unused"), None);
    }

    #[test]
    fn urls_with_credentials_are_found_whatever_the_name() {
        assert_eq!(
            check("DATABASE_URL", "postgres://app:s3cr3t@db.internal:5432/app"),
            Some(Finding::UrlCredentials)
        );
        assert_eq!(
            check("DATABASE_URL", "postgres://db.internal:5432/app"),
            None
        );
        assert_eq!(
            check("REDIS_URL", "redis://:${REDIS_PASSWORD}@redis:6379"),
            None
        );
        assert_eq!(check("SERVER_URL", "https://penny.fly.dev"), None);
    }

    #[test]
    fn token_formats_are_found_whatever_the_name() {
        let ghp = format!("ghp_{}", "a".repeat(36));
        assert_eq!(
            check("SOMETHING", &ghp),
            Some(Finding::TokenFormat("a GitHub token"))
        );
        assert_eq!(
            check("X", "AKIAABCDEFGHIJKLMNOP"),
            Some(Finding::TokenFormat("an AWS access key id"))
        );
    }
}
