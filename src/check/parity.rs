//! Parity between the environments of one app: staging should mirror production where it
//! matters (ports, checks, processes, mounts, build) and may differ where it is meant to
//! (app name, VM size, log level). Rules come from `CheckConfig.parity_must_match` and
//! `parity_may_differ`; every difference is reported with both file:line locations.

use super::fly_toml::FlyFile;
use super::tree::{Node, Pos, Val};
use crate::report::{Diagnostic, Severity};
use std::collections::BTreeMap;

/// Which keys must match and which may differ, as dotted paths (`http_service.internal_port`,
/// `env.LOG_LEVEL`); a rule covers its path and everything under it, the longest rule wins,
/// and a difference no rule covers is a warning.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub must_match: Vec<String>,
    pub may_differ: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    MustMatch,
    MayDiffer,
    Unlisted,
}

impl Rules {
    fn verdict(&self, path: &str) -> Verdict {
        let covers = |rule: &String| {
            path == rule
                || path
                    .strip_prefix(rule.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        };
        let best = |rules: &[String]| rules.iter().filter(|r| covers(r)).map(String::len).max();
        match (best(&self.must_match), best(&self.may_differ)) {
            (Some(m), Some(d)) if d >= m => Verdict::MayDiffer,
            (Some(_), _) => Verdict::MustMatch,
            (None, Some(_)) => Verdict::MayDiffer,
            (None, None) => Verdict::Unlisted,
        }
    }
}

/// One side of a comparison: a parsed file and the environment it deploys.
pub struct Side<'a> {
    pub env: &'a str,
    pub file: &'a FlyFile,
}

/// Compare two fly.toml files of one app. Files that failed to parse are skipped (their
/// syntax error is already reported).
pub fn compare(a: &Side, b: &Side, rules: &Rules) -> Vec<Diagnostic> {
    let (Some(root_a), Some(root_b)) = (&a.file.root, &b.file.root) else {
        return Vec::new();
    };
    let mut flat_a = flatten(root_a);
    let mut flat_b = flatten(root_b);
    merge_service_styles(&mut flat_a, &mut flat_b);
    let mut paths: Vec<&String> = flat_a.keys().chain(flat_b.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        let (va, vb) = (flat_a.get(path), flat_b.get(path));
        if va.map(|l| &l.canonical) == vb.map(|l| &l.canonical) {
            continue;
        }
        let severity = match rules.verdict(path) {
            Verdict::MayDiffer => continue,
            Verdict::MustMatch => Severity::Error,
            Verdict::Unlisted => Severity::Warning,
        };
        let secret = path.strip_prefix("env.").is_some_and(|name| {
            super::secrets::is_secret_name(name)
                || [va, vb].iter().flatten().any(|l| {
                    l.values
                        .iter()
                        .any(|v| super::secrets::check(name, v.trim_matches('"')).is_some())
                })
        });
        let show = |leaf: Option<&Leaf>| match leaf {
            None => "not set".to_string(),
            // A secret's value is never repeated, even when it differs.
            Some(_) if secret => "a secret value".to_string(),
            Some(l) => l.render(),
        };
        let message = format!(
            "`{path}` differs between {} ({}) and {} ({})",
            a.env,
            show(va),
            b.env,
            show(vb)
        );
        let pos_a = va.map_or_else(|| nearest(root_a, path), |l| l.pos);
        let pos_b = vb.map_or_else(|| nearest(root_b, path), |l| l.pos);
        let rule = if severity == Severity::Error {
            "parity/must-match"
        } else {
            "parity/difference"
        };
        let help = if severity == Severity::Error {
            format!("make them equal, or add `{path}` to check.parity-may-differ if the difference is intended")
        } else {
            format!("if intended, add `{path}` to check.parity-may-differ; if it matters, to check.parity-must-match")
        };
        let (mut loc_a, mut loc_b) = (a.file.location(pos_a), b.file.location(pos_b));
        if secret {
            let values: Vec<String> = [va, vb]
                .iter()
                .flatten()
                .flat_map(|l| l.values.iter().map(|v| v.trim_matches('"').to_string()))
                .filter(|v| !v.is_empty())
                .collect();
            for loc in [&mut loc_a, &mut loc_b] {
                loc.source_line = loc.source_line.take().map(|mut line| {
                    for v in &values {
                        line = line.replace(v.as_str(), "***");
                    }
                    line
                });
            }
        }
        out.push(
            Diagnostic::new(severity, rule, message, loc_a)
                .with_related(loc_b)
                .with_help(help),
        );
    }
    out
}

/// Every leaf value under one dotted path; arrays of tables fold their items onto one path
/// (`services.internal_port` = [8080, 9090]).
#[derive(Debug)]
struct Leaf {
    /// As written, for the message.
    values: Vec<String>,
    /// As flyctl reads them, for the comparison.
    canonical: Vec<String>,
    pos: Pos,
}

impl Leaf {
    fn render(&self) -> String {
        self.values.join(", ")
    }
}

/// A value as flyctl reads it, by the kind of its key: `"1gb"`, `"1024mb"` and
/// `memory_mb = 1024` are 1024 MB; `"15s"` and `"15000ms"` one duration; `false` and
/// `"off"` one auto-stop setting; `"true"` and `true`, `"8080"` and `8080` one value.
fn canonical(path: &str, node: &Node) -> String {
    use super::fly_schema::{type_at, Ty};
    use crate::appconfig::units;
    let text = node.display().trim_matches('"').to_string();
    let number = |v: f64| serde_json::json!(v);
    let read = match (type_at(path), &node.val) {
        (Some(Ty::Memory), Val::Str(s)) => units::memory_mb(s).map(|mb| format!("{mb} MB")),
        (Some(Ty::Memory), Val::Int(mb)) => Ok(format!("{mb} MB")),
        (Some(Ty::VolumeSize), Val::Str(s)) => units::volume_gb(s).map(|gb| format!("{gb} GB")),
        (Some(Ty::VolumeSize), Val::Int(gb)) => Ok(format!("{gb} GB")),
        (Some(Ty::Duration), Val::Str(s)) if !s.is_empty() => {
            units::parse_duration(s).map(units::format_duration)
        }
        (Some(Ty::Duration), Val::Int(i)) => {
            units::normalise_duration(&number(*i as f64), bare_duration_unit(path))
        }
        (Some(Ty::Duration), Val::Float(f)) => {
            units::normalise_duration(&number(*f), bare_duration_unit(path))
        }
        (Some(Ty::AutoStop), Val::Bool(b)) => Ok(if *b { "stop" } else { "off" }.to_string()),
        _ => Err(String::new()),
    };
    read.unwrap_or_else(|_| {
        if super::fly_toml::parse_size(&text) {
            text.to_ascii_lowercase()
        } else {
            text
        }
    })
}

/// What a bare number means in a duration, as flyctl's patches read it: seconds in
/// `kill_timeout`, milliseconds in `[checks]` and service checks, and nanoseconds in
/// `[[http_service.checks]]`, which flyctl does not patch.
fn bare_duration_unit(path: &str) -> i128 {
    if path.starts_with("http_service.checks.") {
        1
    } else if path.contains("checks") {
        1_000_000
    } else {
        1_000_000_000
    }
}

/// The one name flyctl reads a key under: `[[compute]]` is `[[vm]]`, `[mount]` is
/// `[[mounts]]`, and `memory_mb` in a VM is its `memory` in megabytes.
fn alias(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('.').collect();
    match segments.first().copied() {
        Some("compute" | "computes") => segments[0] = "vm",
        Some("mount") => segments[0] = "mounts",
        Some("metric") => segments[0] = "metrics",
        _ => {}
    }
    if segments.len() == 2 && segments[0] == "vm" && segments[1] == "memory_mb" {
        segments[1] = "memory";
    }
    segments.join(".")
}

/// When one file uses `[http_service]` and the other `[[services]]`, compare the set of
/// internal ports under one key instead of reporting each style as missing from the other.
fn merge_service_styles(a: &mut BTreeMap<String, Leaf>, b: &mut BTreeMap<String, Leaf>) {
    const HS: &str = "http_service.internal_port";
    const SV: &str = "services.internal_port";
    let style = |m: &BTreeMap<String, Leaf>| (m.contains_key(HS), m.contains_key(SV));
    if style(a) == style(b) {
        return;
    }
    for m in [a, b] {
        let leaves: Vec<Leaf> = [HS, SV].iter().filter_map(|k| m.remove(*k)).collect();
        let pos = leaves
            .first()
            .map(|l| l.pos)
            .unwrap_or(Pos { line: 1, column: 1 });
        let mut values: Vec<String> = leaves
            .into_iter()
            .flat_map(|l| l.values)
            .map(|v| v.trim_matches('"').to_string())
            .collect();
        values.sort();
        values.dedup();
        m.insert(
            SV.into(),
            Leaf {
                canonical: values.clone(),
                values,
                pos,
            },
        );
    }
}

fn flatten(root: &Node) -> BTreeMap<String, Leaf> {
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

fn walk(node: &Node, path: &str, out: &mut BTreeMap<String, Leaf>) {
    match &node.val {
        Val::Table(entries) => {
            for (k, v) in entries {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, &child, out);
            }
        }
        Val::Array(items)
            if !items.is_empty() && items.iter().all(|i| matches!(i.val, Val::Table(_))) =>
        {
            for item in items {
                walk(item, path, out);
            }
        }
        _ => {
            let path = alias(path);
            let value = canonical(&path, node);
            let leaf = out.entry(path).or_insert(Leaf {
                values: Vec::new(),
                canonical: Vec::new(),
                pos: node.pos,
            });
            leaf.values.push(node.display());
            leaf.canonical.push(value);
        }
    }
}

/// Where to point in a file that lacks `path`: its deepest existing ancestor, else line 1.
fn nearest(root: &Node, path: &str) -> Pos {
    let mut node = root;
    let mut pos = Pos { line: 1, column: 1 };
    for key in path.split('.') {
        let next = node.one_or_many().into_iter().find_map(|n| n.get(key));
        match next {
            Some(n) => {
                pos = n.pos;
                node = n;
            }
            None => break,
        }
    }
    pos
}

/// The environment a fly.toml file name suggests: `fly.staging.toml` → staging,
/// `fly.prod.toml`/`fly.production.toml`/`fly.toml` → production.
pub fn env_of_file_name(name: &str) -> Option<String> {
    let name = name.rsplit('/').next().unwrap_or(name);
    let middle = name.strip_prefix("fly")?.strip_suffix(".toml")?;
    let env = middle.trim_matches(['.', '-', '_']);
    Some(match env {
        "" | "prod" | "production" => "production".to_string(),
        "stage" | "stg" => "staging".to_string(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fly_toml;
    use std::path::Path;

    fn file(name: &str, text: &str) -> FlyFile {
        fly_toml::check(Path::new(name), text).0
    }

    fn rules() -> Rules {
        let d = crate::config::model::CheckConfig::default();
        Rules {
            must_match: d.parity_must_match,
            may_differ: d.parity_may_differ,
        }
    }

    #[test]
    fn port_mismatch_is_an_error_with_both_locations() {
        let s = file(
            "fly.staging.toml",
            "app = \"a-staging\"\n[http_service]\ninternal_port = 8080\n",
        );
        let p = file(
            "fly.toml",
            "app = \"a\"\n\n[http_service]\n  internal_port = 3000\n",
        );
        let d = compare(
            &Side {
                env: "staging",
                file: &s,
            },
            &Side {
                env: "production",
                file: &p,
            },
            &rules(),
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Error);
        assert_eq!(d[0].rule, "parity/must-match");
        assert_eq!((d[0].location.line, d[0].location.column), (3, 1));
        let rel = d[0].related.as_ref().unwrap();
        assert_eq!(
            (rel.file.to_str(), rel.line, rel.column),
            (Some("fly.toml"), 4, 3)
        );
        assert!(d[0]
            .message
            .contains("staging (8080) and production (3000)"));
    }

    #[test]
    fn allowed_differences_are_silent_and_unlisted_ones_warn() {
        let s = file("s.toml", "app = \"x-stg\"\n[[vm]]\nmemory = \"256mb\"\n[env]\nLOG_LEVEL = \"debug\"\nFEATURE = \"on\"\n");
        let p = file(
            "p.toml",
            "app = \"x\"\n[[vm]]\nmemory = \"1gb\"\n[env]\nLOG_LEVEL = \"info\"\n",
        );
        let d = compare(
            &Side {
                env: "staging",
                file: &s,
            },
            &Side {
                env: "production",
                file: &p,
            },
            &rules(),
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].severity, Severity::Warning);
        assert!(d[0].message.contains("`env.FEATURE`"));
        assert!(d[0].message.contains("production (not set)"));
        // Points at the [env] table of production, where the key would go.
        assert_eq!(d[0].related.as_ref().unwrap().line, 4);
    }

    #[test]
    fn values_are_compared_as_flyctl_reads_them() {
        let compare_texts = |a: &str, b: &str, rules: &Rules| {
            let s = file("fly.staging.toml", a);
            let p = file("fly.toml", b);
            compare(
                &Side {
                    env: "staging",
                    file: &s,
                },
                &Side {
                    env: "production",
                    file: &p,
                },
                rules,
            )
        };
        let must = Rules {
            must_match: vec!["vm".into(), "http_service".into(), "mounts".into()],
            may_differ: Vec::new(),
        };
        let same = [
            (
                "[[vm]]\nmemory = \"1024mb\"\n",
                "[[vm]]\nmemory = \"1gb\"\n",
            ),
            ("[[vm]]\nmemory_mb = 1024\n", "[[vm]]\nmemory = \"1gb\"\n"),
            ("[[compute]]\nmemory = \"1GB\"\n", "[[vm]]\nmemory = 1024\n"),
            (
                "[http_service]\nauto_stop_machines = false\n",
                "[http_service]\nauto_stop_machines = \"off\"\n",
            ),
            (
                "[http_service]\nauto_stop_machines = true\n",
                "[http_service]\nauto_stop_machines = \"stop\"\n",
            ),
            ("kill_timeout = 5\n", "kill_timeout = \"5s\"\n"),
            (
                "[checks.alive]\ninterval = 15000\n",
                "[checks.alive]\ninterval = \"15s\"\n",
            ),
            (
                "[[mounts]]\ninitial_size = \"10gb\"\n",
                "[[mounts]]\ninitial_size = 10\n",
            ),
        ];
        for (a, b) in same {
            let d = compare_texts(a, b, &must);
            assert!(d.is_empty(), "{a} vs {b}: {d:#?}");
        }
        let differ = [
            ("[[vm]]\nmemory = \"512mb\"\n", "[[vm]]\nmemory = \"1gb\"\n"),
            (
                "[http_service]\nauto_stop_machines = false\n",
                "[http_service]\nauto_stop_machines = \"suspend\"\n",
            ),
            // flyctl reads a bare number here as nanoseconds.
            (
                "[[http_service.checks]]\ninterval = 15000\n",
                "[[http_service.checks]]\ninterval = \"15s\"\n",
            ),
        ];
        for (a, b) in differ {
            let d = compare_texts(a, b, &must);
            assert_eq!(d.len(), 1, "{a} vs {b}: {d:#?}");
            assert_eq!(d[0].rule, "parity/must-match");
        }
    }

    #[test]
    fn the_longest_rule_wins() {
        let r = Rules {
            must_match: vec!["env".into()],
            may_differ: vec!["env.LOG_LEVEL".into()],
        };
        assert_eq!(r.verdict("env.LOG_LEVEL"), Verdict::MayDiffer);
        assert_eq!(r.verdict("env.DB"), Verdict::MustMatch);
        assert_eq!(r.verdict("environment"), Verdict::Unlisted);
    }

    #[test]
    fn env_from_file_names() {
        assert_eq!(
            env_of_file_name("fly.staging.toml").as_deref(),
            Some("staging")
        );
        assert_eq!(
            env_of_file_name("apps/api/fly.toml").as_deref(),
            Some("production")
        );
        assert_eq!(
            env_of_file_name("fly.prod.toml").as_deref(),
            Some("production")
        );
        assert_eq!(env_of_file_name("Cargo.toml"), None);
    }
}
