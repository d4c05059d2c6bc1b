//! Preview deployments (one per pull request) of a Coolify application, as v4.3
//! (`coollabsio/coolify` @379abb25) keeps them:
//!
//! - `ApplicationPreview` rows: `pull_request_id`, `fqdn`, `docker_registry_image_tag`,
//!   `status` (`app/Models/ApplicationPreview.php`).
//! - For a Docker-image application, `POST /deploy?uuid=…&pr=N&docker_tag=T` creates the
//!   preview (needs `docker_tag` the first time) or updates its tag
//!   (`DeployController.php` `upsertDockerImagePreview`). For any other application only
//!   Coolify's GitHub App creates previews, on a pull request's opening and only with
//!   preview deployments enabled; a scenario says which exist.
//! - A new preview's `fqdn` comes from the application's first domain and
//!   `preview_url_template` (`ApplicationPreview::generate_preview_fqdn`).
//! - `DELETE /applications/{uuid}/previews/{pr}` cancels the pull request's active
//!   deployments and removes the preview (`ApplicationsController.php`
//!   `delete_preview_by_pull_request_id`, `CleanupPreviewDeployment.php`).

use super::state::new_uuid;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Preview {
    pub uuid: String,
    pub pull_request_id: i64,
    pub fqdn: Option<String>,
    pub docker_tag: Option<String>,
    /// `<state>:<health>` like an application's; `exited` until a deployment finishes.
    pub status: String,
    /// What the preview's container runs after its last finished deployment.
    pub running: Option<String>,
}

impl Preview {
    pub fn new(pull_request_id: i64, docker_tag: Option<String>) -> Preview {
        Preview {
            uuid: new_uuid(),
            pull_request_id,
            fqdn: None,
            docker_tag,
            status: "exited:unhealthy".into(),
            running: None,
        }
    }
}

/// `generate_preview_fqdn`: the template with `{{random}}`, `{{domain}}` (the host of the
/// application's first domain) and `{{pr_id}}` replaced, behind that domain's scheme and
/// followed by its port and path. `None` when the application has no domain.
pub fn generate_fqdn(app_fqdn: Option<&str>, template: &str, pr: i64) -> Option<String> {
    let fqdn = app_fqdn.filter(|f| !f.is_empty())?;
    let first = fqdn.split(',').next().unwrap_or(fqdn);
    let url = Url::parse(first);
    let port = url.port.map(|p| format!(":{p}")).unwrap_or_default();
    let path = if url.path.is_empty() || url.path == "/" {
        ""
    } else {
        url.path
    };
    let host = template
        .replace("{{random}}", &new_uuid())
        .replace("{{domain}}", url.host)
        .replace("{{pr_id}}", &pr.to_string());
    Some(format!("{}://{host}{port}{path}", url.scheme))
}

/// The parts of a URL `generate_preview_fqdn` uses, split as PHP's `parse_url` does for
/// the URLs Coolify stores (`scheme://host[:port][/path]`).
struct Url<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
    path: &'a str,
}

impl<'a> Url<'a> {
    fn parse(s: &'a str) -> Url<'a> {
        let Some((scheme, rest)) = s.split_once("://") else {
            return Url {
                scheme: "",
                host: "",
                port: None,
                path: s,
            };
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let path = path.split(['?', '#']).next().unwrap_or("");
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
                (h, p.parse().ok())
            }
            _ => (authority, None),
        };
        Url {
            scheme,
            host,
            port,
            path,
        }
    }
}

/// PHP's `(int)` cast of a request value: leading whitespace, a sign and digits; anything
/// else stops the number (`"7abc"` is 7, `"abc"` is 0).
pub fn php_int(v: &str) -> i64 {
    let t = v.trim_start();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<i64>().map(|n| sign * n).unwrap_or(0)
}

/// PHP's `is_numeric` (as the preview delete route checks its `pull_request_id`): an
/// optional sign, digits with an optional fraction, an optional exponent.
pub fn php_is_numeric(v: &str) -> bool {
    let t = v.trim_start();
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (t, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// `(int)` of a numeric string, fractions and exponents included (`"1.5"` is 1, `"1e2"` 100).
pub fn php_int_of_numeric(v: &str) -> i64 {
    v.trim().parse::<f64>().map(|f| f as i64).unwrap_or(0)
}

/// A preview as a test sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CoolifyPreview {
    pub pull_request_id: i64,
    pub fqdn: Option<String>,
    pub docker_tag: Option<String>,
    pub status: String,
    /// The image (`name:tag`) or commit the preview's container runs, once deployed.
    pub running: Option<String>,
}

impl From<&Preview> for CoolifyPreview {
    fn from(p: &Preview) -> Self {
        CoolifyPreview {
            pull_request_id: p.pull_request_id,
            fqdn: p.fqdn.clone(),
            docker_tag: p.docker_tag.clone(),
            status: p.status.clone(),
            running: p.running.clone(),
        }
    }
}

/// A request value as Laravel's `$request->string(…)->trim()->value() ?: null` gives it:
/// trimmed, and `""` or `"0"` (falsy in PHP) are no value.
pub fn php_string(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(true) => "1".into(),
        _ => return None,
    };
    (!s.is_empty() && s != "0").then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_fqdns_follow_the_template_and_the_first_domain() {
        let t = "{{pr_id}}.{{domain}}";
        assert_eq!(
            generate_fqdn(Some("https://app.example.com"), t, 7).as_deref(),
            Some("https://7.app.example.com")
        );
        assert_eq!(
            generate_fqdn(
                Some("http://a.example.com:8080/base,https://b.example.com"),
                t,
                12
            )
            .as_deref(),
            Some("http://12.a.example.com:8080/base")
        );
        assert_eq!(
            generate_fqdn(Some("https://x.io/"), "pr-{{pr_id}}-{{domain}}", 3).as_deref(),
            Some("https://pr-3-x.io")
        );
        let random =
            generate_fqdn(Some("https://x.io"), "{{random}}.{{domain}}", 3).expect("an fqdn");
        assert!(random.starts_with("https://") && random.ends_with(".x.io") && random.len() > 20);
        assert_eq!(generate_fqdn(None, t, 7), None);
        assert_eq!(generate_fqdn(Some(""), t, 7), None);
    }

    #[test]
    fn php_casts() {
        assert_eq!(
            (
                php_int("7"),
                php_int(" 7abc"),
                php_int("abc"),
                php_int("-3")
            ),
            (7, 7, 0, -3)
        );
        for yes in ["7", "1.5", "1e2", " 3", "-1", ".5"] {
            assert!(php_is_numeric(yes), "{yes}");
        }
        for no in ["", "abc", "7a", "1e", "."] {
            assert!(!php_is_numeric(no), "{no}");
        }
        assert_eq!(
            (php_int_of_numeric("1.5"), php_int_of_numeric("1e2")),
            (1, 100)
        );
        assert_eq!(
            php_string(Some(&Value::from(" v1 "))).as_deref(),
            Some("v1")
        );
        assert_eq!(php_string(Some(&Value::from("0"))), None);
        assert_eq!(php_string(Some(&Value::from("  "))), None);
    }
}
