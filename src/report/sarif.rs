//! SARIF 2.1.0 for `github/codeql-action/upload-sarif`: one run, one rule per distinct
//! rule id, one result per diagnostic, repo-relative URIs, related locations for parity.
//! Only this module knows the SARIF shape.

use super::diagnostic::{Diagnostic, Location, Severity};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json";
const INFORMATION_URI: &str = super::rules::REPOSITORY;

/// Characters a SARIF `uri` (RFC 3986) may not carry raw in a path segment; non-ASCII is
/// always encoded.
const URI_ESCAPE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A repo-relative path as a SARIF URI: forward slashes, each segment percent-encoded.
pub fn uri(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.trim_start_matches("./")
        .split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, URI_ESCAPE).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// A result's stable identity across runs (rule, file, the line's text), so code scanning
/// tracks a finding as the lines around it move.
fn fingerprint(d: &Diagnostic) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(d.rule.as_bytes());
    h.update([0]);
    h.update(uri(&d.location.file).as_bytes());
    h.update([0]);
    h.update(
        d.location
            .source_line
            .as_deref()
            .unwrap_or("")
            .trim()
            .as_bytes(),
    );
    hex::encode(&h.finalize()[..16])
}

/// The SARIF document for `diagnostics`; `category` keeps uploads of different jobs or
/// monorepo folders apart (`runs[0].automationDetails.id`).
pub fn document(diagnostics: &[Diagnostic], version: &str, category: &str) -> Value {
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for d in diagnostics {
        if !rule_index.contains_key(d.rule.as_str()) {
            rule_index.insert(&d.rule, rules.len());
            rules.push(rule(d));
        }
    }
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let mut result = json!({
                "ruleId": d.rule,
                "ruleIndex": rule_index[d.rule.as_str()],
                "level": level(d.severity),
                "message": {"text": text},
                "locations": [location(&d.location, None)],
                "partialFingerprints": {"stageGate/v1": fingerprint(d)},
            });
            if let Some(rel) = &d.related {
                result["relatedLocations"] = json!([location(rel, Some(1))]);
            }
            result
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "stage-gate",
                "informationUri": INFORMATION_URI,
                "version": version,
                "semanticVersion": version,
                "rules": rules,
            }},
            "results": results,
            "automationDetails": {"id": category},
        }]
    })
}

/// Write the document to `path`, every known secret redacted (the file leaves the process:
/// it is uploaded to code scanning).
pub fn write(
    path: &Path,
    diagnostics: &[Diagnostic],
    version: &str,
    category: &str,
    redactor: &crate::secret::Redactor,
) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&document(diagnostics, version, category))
        .map_err(std::io::Error::other)?;
    let text = redactor.redact(&text);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "note",
    }
}

fn location(loc: &Location, id: Option<usize>) -> Value {
    // SARIF URIs use forward slashes, are percent-encoded and relative to the repository.
    let uri = uri(&loc.file);
    let mut v = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": uri},
            "region": {"startLine": loc.line.max(1), "startColumn": loc.column.max(1)},
        }
    });
    if let Some(src) = &loc.source_line {
        v["physicalLocation"]["region"]["snippet"] = json!({"text": src});
    }
    if let Some(id) = id {
        v["id"] = json!(id);
        v["message"] = json!({"text": "the other environment"});
    }
    v
}

/// A `reportingDescriptor` from the rule catalogue (for zizmor's and actionlint's findings,
/// which keep their own ids: the finding's own text, and their tools' docs).
fn rule(d: &Diagnostic) -> Value {
    let help_uri = super::rules::help_uri(&d.rule);
    let (short, full, fix) = match super::rules::find(&d.rule) {
        Some(r) => (r.short.to_string(), r.full.to_string(), r.fix.to_string()),
        None => (
            rule_description(&d.rule),
            d.message.clone(),
            d.help.clone().unwrap_or_else(|| format!("see {help_uri}")),
        ),
    };
    json!({
        "id": d.rule,
        "name": rule_name(&d.rule),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {
            "text": format!("{full}\n\nFix: {fix}"),
            "markdown": format!("**{short}.** {full}\n\n**Fix:** {fix}\n\n[Documentation]({help_uri})"),
        },
        "defaultConfiguration": {"level": level(d.severity)},
        "helpUri": help_uri,
    })
}

/// `fly/unknown-key` → `FlyUnknownKey` (SARIF's `name` is an identifier-like label).
fn rule_name(rule: &str) -> String {
    rule.split(['/', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule_description(rule: &str) -> String {
    match rule.split_once('/') {
        Some((area, what)) => format!("{}: {}", area, what.replace('-', " ")),
        None => rule.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Diagnostic> {
        vec![
            Diagnostic::error(
                "fly/value",
                "bad port",
                Location::new("apps/fly.toml", 3, 5).with_source("a\nb\n  internal_port = 0\n"),
            )
            .with_help("1–65535"),
            Diagnostic::warning(
                "parity/difference",
                "differs",
                Location::new("fly.staging.toml", 2, 1),
            )
            .with_related(Location::new("fly.toml", 4, 3)),
            Diagnostic::error("fly/value", "another", Location::new("fly.toml", 1, 0)),
        ]
    }

    #[test]
    fn document_has_the_required_shape() {
        let doc = document(&sample(), "0.1.0", "stage-gate/check/./");
        assert_eq!(doc["version"], "2.1.0");
        assert_eq!(doc["$schema"], SCHEMA);
        let run = &doc["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "stage-gate");
        assert!(driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://"));
        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2, "one rule per distinct id");
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let r0 = &results[0];
        assert_eq!(r0["ruleId"], "fly/value");
        assert_eq!(r0["level"], "error");
        assert_eq!(r0["message"]["text"], "bad port\nhelp: 1–65535");
        let phys = &r0["locations"][0]["physicalLocation"];
        assert_eq!(phys["artifactLocation"]["uri"], "apps/fly.toml");
        assert_eq!(phys["region"]["startLine"], 3);
        assert_eq!(phys["region"]["startColumn"], 5);
        assert_eq!(phys["region"]["snippet"]["text"], "  internal_port = 0");
        // Rule indexes point at the right rule.
        for r in results {
            let idx = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[idx]["id"], r["ruleId"]);
        }
        let rel = &results[1]["relatedLocations"][0];
        assert_eq!(
            rel["physicalLocation"]["artifactLocation"]["uri"],
            "fly.toml"
        );
        assert_eq!(rel["physicalLocation"]["region"]["startLine"], 4);
        assert_eq!(results[1]["level"], "warning");
        // Column 0 (unknown) becomes 1: SARIF columns are 1-based.
        assert_eq!(
            results[2]["locations"][0]["physicalLocation"]["region"]["startColumn"],
            1
        );
    }

    #[test]
    fn writes_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/check.sarif");
        write(
            &path,
            &sample(),
            "0.1.0",
            "stage-gate/check/./",
            &crate::secret::Redactor::new(),
        )
        .unwrap();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn uris_are_percent_encoded_and_results_fingerprinted() {
        assert_eq!(uri(Path::new("./my app/fly.toml")), "my%20app/fly.toml");
        assert_eq!(
            uri(Path::new("dienste/grüße/fly.toml")),
            "dienste/gr%C3%BC%C3%9Fe/fly.toml"
        );
        let doc = document(&sample(), "0.1.0", "stage-gate/check/apps/");
        let run = &doc["runs"][0];
        assert_eq!(run["automationDetails"]["id"], "stage-gate/check/apps/");
        let fp = run["results"][0]["partialFingerprints"]["stageGate/v1"]
            .as_str()
            .unwrap();
        assert_eq!(fp.len(), 32);
        assert_ne!(fp, run["results"][1]["partialFingerprints"]["stageGate/v1"]);
    }
}
