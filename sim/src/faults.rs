//! Fault injection: which requests should fail, and how.
//!
//! A [`Fault`] matches requests by method and path (exact, or a glob where `*` matches any run
//! of characters, `/` included) and replaces the vendor's answer with a status, a delay, a
//! malformed body or a dropped connection. Faults come from the scenario file, from
//! [`crate::Sim::inject`] or from `POST /__sim/faults` on any port. This module only decides;
//! `server.rs` carries the decision out. Vendor routers never see faults.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One injected failure. Unknown keys are rejected so a typo in a scenario file is loud.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fault {
    /// Restrict to one vendor (`fly`, `coolify`, `github`, `uploads`, `health`); any when absent.
    /// A fault posted to `/__sim/faults` on a vendor's port defaults to that vendor.
    pub vendor: Option<String>,
    /// HTTP method (case-insensitive); any when absent.
    pub method: Option<String>,
    /// Exact path, or a glob with `*`. The query string is not part of the match.
    pub path: String,
    /// Answer with this status instead of the vendor's.
    pub status: Option<u16>,
    /// Body for `status` (defaults to a JSON error object).
    pub body: Option<String>,
    /// `Retry-After` seconds to send with `status`.
    pub retry_after: Option<u64>,
    /// Extra response headers sent with `status`.
    pub headers: BTreeMap<String, String>,
    /// Wait this long first; with nothing else set, then pass the request through.
    pub delay_ms: Option<u64>,
    /// Drop the connection with a TCP reset, answering nothing.
    pub reset: bool,
    /// Answer 200 with a truncated JSON body.
    pub malformed: bool,
    /// Fire this many times, then pass requests through; forever when absent.
    pub times: Option<u32>,
    /// Let this many matching requests through untouched before firing (fail the second
    /// update of a machine, not the first).
    pub skip: Option<u32>,
    /// The vendor performs the request first, then its answer is lost (`reset`) or replaced
    /// (`status`, `malformed`): the ambiguous write a client must look up, not repeat.
    pub after_acting: bool,
    /// The error body quotes the request's credentials (its `Authorization` header), as some
    /// vendors' error pages do: what a client then prints must still be redacted.
    pub echo_credentials: bool,
}

/// What a matched fault asks of the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub delay_ms: u64,
    pub action: Action,
    pub after_acting: bool,
    pub echo_credentials: bool,
}

/// What the server must do with a request a fault matched.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reset,
    Malformed,
    Respond {
        status: u16,
        body: String,
        headers: BTreeMap<String, String>,
    },
    /// Only a delay: pass through to the vendor afterwards.
    PassThrough,
}

impl Fault {
    fn matches(&self, vendor: &str, method: &str, path: &str) -> bool {
        self.vendor.as_deref().is_none_or(|v| v == vendor)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && glob_match(&self.path, path)
    }

    fn action(&self) -> Action {
        if self.reset {
            return Action::Reset;
        }
        if self.malformed {
            return Action::Malformed;
        }
        match self.status {
            Some(status) => {
                let mut headers = self.headers.clone();
                if let Some(secs) = self.retry_after {
                    headers.insert("retry-after".into(), secs.to_string());
                }
                let body = self.body.clone().unwrap_or_else(|| {
                    // Both spellings, so Fly-style (`error`) and GitHub/Coolify-style
                    // (`message`) clients find their field.
                    serde_json::json!({
                        "error": format!("simulated fault: status {status}"),
                        "message": format!("simulated fault: status {status}"),
                    })
                    .to_string()
                });
                Action::Respond {
                    status,
                    body,
                    headers,
                }
            }
            None => Action::PassThrough,
        }
    }
}

/// The live set of faults, with how many firings each has left and how many matches each
/// still lets through first.
#[derive(Debug, Default)]
pub struct Faults {
    active: Vec<(Fault, Option<u32>, u32)>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        let left = fault.times;
        let skip = fault.skip.unwrap_or(0);
        self.active.push((fault, left, skip));
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    pub fn list(&self) -> Vec<Fault> {
        self.active.iter().map(|(f, _, _)| f.clone()).collect()
    }

    /// The first live fault matching the request, consuming one firing (or one skip: a
    /// skipped request passes through untouched).
    pub fn decide(&mut self, vendor: &str, method: &str, path: &str) -> Option<Decision> {
        let (fault, left, skip) = self
            .active
            .iter_mut()
            .find(|(f, left, _)| left.is_none_or(|n| n > 0) && f.matches(vendor, method, path))?;
        if *skip > 0 {
            *skip -= 1;
            return None;
        }
        if let Some(n) = left {
            *n -= 1;
        }
        Some(Decision {
            delay_ms: fault.delay_ms.unwrap_or(0),
            action: fault.action(),
            after_acting: fault.after_acting,
            echo_credentials: fault.echo_credentials,
        })
    }

    /// [`Faults::decide`] as (delay, action).
    pub fn take(&mut self, vendor: &str, method: &str, path: &str) -> Option<(u64, Action)> {
        self.decide(vendor, method, path)
            .map(|d| (d.delay_ms, d.action))
    }
}

/// `*` matches any (possibly empty) run of characters; everything else is literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_exact_and_wildcards() {
        assert!(glob_match("/v1/apps/a", "/v1/apps/a"));
        assert!(!glob_match("/v1/apps/a", "/v1/apps/ab"));
        assert!(glob_match("/v1/apps/*/machines", "/v1/apps/x/machines"));
        assert!(glob_match("*/lease", "/v1/apps/x/machines/m/lease"));
        assert!(glob_match("/v1/*", "/v1/"));
        assert!(!glob_match("/v1/*/wait", "/v1/apps/x/machines/m/lease"));
        assert!(glob_match("/a/*/b/*/c", "/a/1/b/2/c"));
        assert!(!glob_match("/a/*/b/*/c", "/a/1/c"));
        assert!(!glob_match("/ab*ba", "/aba"));
    }

    #[test]
    fn times_limits_firings_then_passes_through() {
        let mut faults = Faults::default();
        faults.add(Fault {
            path: "/x".into(),
            status: Some(500),
            times: Some(2),
            ..Fault::default()
        });
        assert!(faults.take("fly", "GET", "/x").is_some());
        assert!(faults.take("fly", "GET", "/x").is_some());
        assert!(faults.take("fly", "GET", "/x").is_none());
    }

    #[test]
    fn skip_lets_the_first_matches_through() {
        let mut faults = Faults::default();
        faults.add(Fault {
            path: "/x".into(),
            status: Some(500),
            skip: Some(1),
            times: Some(1),
            ..Fault::default()
        });
        assert!(faults.decide("fly", "POST", "/x").is_none());
        assert!(faults.decide("fly", "POST", "/x").is_some());
        assert!(faults.decide("fly", "POST", "/x").is_none());
    }

    #[test]
    fn method_and_vendor_restrict_the_match() {
        let mut faults = Faults::default();
        faults.add(Fault {
            vendor: Some("fly".into()),
            method: Some("post".into()),
            path: "/x".into(),
            reset: true,
            ..Fault::default()
        });
        assert!(faults.take("fly", "GET", "/x").is_none());
        assert!(faults.take("github", "POST", "/x").is_none());
        assert_eq!(faults.take("fly", "POST", "/x"), Some((0, Action::Reset)));
    }

    #[test]
    fn status_fault_carries_retry_after_and_default_body() {
        let mut faults = Faults::default();
        faults.add(Fault {
            path: "*".into(),
            status: Some(429),
            retry_after: Some(3),
            ..Fault::default()
        });
        let Some((
            0,
            Action::Respond {
                status,
                headers,
                body,
            },
        )) = faults.take("x", "GET", "/")
        else {
            panic!("expected a response action");
        };
        assert_eq!(status, 429);
        assert_eq!(headers.get("retry-after").map(String::as_str), Some("3"));
        assert!(body.contains("simulated fault"));
    }

    #[test]
    fn unknown_scenario_keys_are_rejected() {
        let err = serde_json::from_str::<Fault>(r#"{"path":"/x","stauts":500}"#).unwrap_err();
        assert!(err.to_string().contains("stauts"));
    }
}
