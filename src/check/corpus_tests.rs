//! The corpus oracle: real fly.toml files from public repositories that deployed must give
//! no errors, except those `corpus/EXPECTED.tsv` lists with a reason.

use super::fly_toml;
use crate::report::Severity;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The corpus copied into the repository (`tests/fixtures/corpus`, sources in
/// `tests/fixtures/SOURCES.tsv`). Missing, it is a failure, never a skip.
pub(crate) fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    assert!(dir.is_dir(), "the corpus is missing at {}", dir.display());
    dir
}

/// (relative path → errors) for every fly.toml under `sub`.
fn check_dir(corpus: &Path, sub: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut entries: Vec<_> = std::fs::read_dir(corpus.join(sub))
        .expect("corpus dir readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".toml"))
        })
        .collect();
    entries.sort();
    for path in entries {
        let rel = format!("{sub}/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(&path).expect("readable");
        let (_, diags) = fly_toml::check(Path::new(&rel), &text);
        let errors: Vec<String> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                format!(
                    "{}:{} {} {}",
                    d.location.line, d.location.column, d.rule, d.message
                )
            })
            .collect();
        out.insert(rel, errors);
    }
    out
}

#[test]
fn real_fly_toml_files_give_no_errors_except_the_expected_ones() {
    let corpus = corpus();
    let expected_text = std::fs::read_to_string(corpus.join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for line in expected_text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() >= 2 {
            expected.insert(cols[0].to_string(), cols[1].to_string());
        }
    }
    let mut results = check_dir(&corpus, "fly");
    results.extend(check_dir(&corpus, "fly-history"));
    assert!(
        results.len() > 100,
        "corpus unexpectedly small: {}",
        results.len()
    );
    let mut wrong = Vec::new();
    for (file, errors) in &results {
        let want = expected.get(file).map(String::as_str).unwrap_or("ok");
        let ok = match want {
            "error" => !errors.is_empty(),
            "either" => true,
            _ => errors.is_empty(),
        };
        if !ok {
            wrong.push(format!("{file}: expected {want}, got {errors:#?}"));
        }
    }
    for file in expected.keys() {
        assert!(
            results.contains_key(file),
            "EXPECTED.tsv names {file}, not in the corpus"
        );
    }
    assert!(
        wrong.is_empty(),
        "{} file(s) wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Parity findings for every pair in `fly/PAIRS.tsv`, keyed by repo.
fn pair_findings(corpus: &Path) -> BTreeMap<String, Vec<crate::report::Diagnostic>> {
    use super::parity::{compare, Rules, Side};
    let defaults = crate::config::model::CheckConfig::default();
    let rules = Rules {
        must_match: defaults.parity_must_match,
        may_differ: defaults.parity_may_differ,
    };
    let text = std::fs::read_to_string(corpus.join("fly/PAIRS.tsv")).expect("PAIRS.tsv");
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [repo, staging, production, ..] = cols[..] else {
            continue;
        };
        let load = |name: &str| {
            let rel = format!("fly/{name}");
            let text = std::fs::read_to_string(corpus.join(&rel)).expect("pair file");
            fly_toml::check(Path::new(&rel), &text).0
        };
        let (s, p) = (load(staging), load(production));
        let d = compare(
            &Side {
                env: "staging",
                file: &s,
            },
            &Side {
                env: "production",
                file: &p,
            },
            &rules,
        );
        out.insert(repo.to_string(), d);
    }
    out
}

#[test]
fn staging_production_pairs_report_their_real_differences() {
    let corpus = corpus();
    let all = pair_findings(&corpus);
    assert_eq!(all.len(), 11, "PAIRS.tsv lists 11 pairs");
    let errors = |repo: &str| -> Vec<String> {
        all[repo]
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.message.clone())
            .collect()
    };
    // Every finding points at both files.
    for (repo, ds) in &all {
        for d in ds {
            let rel = d
                .related
                .as_ref()
                .expect("parity findings carry the other file");
            assert!(
                d.location.file.to_string_lossy().contains("staging"),
                "{repo}: {d:?}"
            );
            assert!(
                !rel.file.to_string_lossy().contains("staging"),
                "{repo}: {d:?}"
            );
        }
    }
    // penny builds a different image per environment: `build` must match.
    let penny = &all["GrottoPress/penny"];
    let image = penny
        .iter()
        .find(|d| d.message.starts_with("`build.image`"))
        .expect("build.image");
    assert_eq!(image.severity, Severity::Error);
    assert_eq!(
        (image.location.line, image.related.as_ref().unwrap().line),
        (6, 6)
    );
    // Password *settings* differ (4 vs 12): reported as differences, never as secrets.
    assert!(penny
        .iter()
        .any(|d| d.message.starts_with("`env.PASSWORD_MIN_LENGTH`")
            && d.severity == Severity::Warning));
    // foundryvtt builds production with Algolia args that staging lacks.
    let mut fvtt = errors("ThreeHats/foundryvtt-rest-api-relay");
    fvtt.sort();
    assert_eq!(fvtt.len(), 3, "{fvtt:#?}");
    assert!(fvtt[0].starts_with("`build.args.ALGOLIA_APP_ID` differs between staging (not set)"));
    // grants-stack-indexer: [http_service] in staging, [[services]] in production, both on
    // 8080 — not a port mismatch.
    assert!(
        errors("gitcoinco/grants-stack-indexer").is_empty(),
        "{:#?}",
        errors("gitcoinco/grants-stack-indexer")
    );
    assert!(all["gitcoinco/grants-stack-indexer"]
        .iter()
        .any(|d| d.message.starts_with(
            "`http_service.force_https` differs between staging (true) and production (not set)"
        )));
    // dashfloat differs only in its host name.
    let dash: Vec<&str> = all["DashFloat/dashfloat"]
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(dash.len(), 1, "{dash:#?}");
    assert!(dash[0].starts_with("`env.PHX_HOST`"));
    // `true` and `"true"` are the same setting.
    assert!(!all["Ubeydu/akluma-your-smart-piggy-bank"]
        .iter()
        .any(|d| d.message.contains("SESSION_SECURE_COOKIE")));
    // A smaller VM for staging is allowed by default (seed 001).
    assert!(all
        .values()
        .flatten()
        .all(|d| !d.message.starts_with("`vm.")));
}

#[test]
fn flyctl_edge_cases() {
    let corpus = corpus();
    let results = check_dir(&corpus, "fly-flyctl-testdata");
    let get = |name: &str| -> &Vec<String> {
        let key = format!(
            "fly-flyctl-testdata/superfly__flyctl__internal_appconfig_testdata_{name}.toml"
        );
        results.get(&key).unwrap_or_else(|| panic!("{key} missing"))
    };
    // The old format: stringified ports, "soft,hard" concurrency, millisecond durations,
    // headers as a table of mixed values, empty [[processes]], singular [mount].
    assert!(get("old-format").is_empty(), "{:#?}", get("old-format"));
    assert!(get("mounts-array").is_empty(), "{:#?}", get("mounts-array"));
    assert!(
        get("format-quirks").is_empty(),
        "{:#?}",
        get("format-quirks")
    );
    assert!(get("env-list").is_empty(), "{:#?}", get("env-list"));
    assert!(
        get("old-processes").is_empty(),
        "{:#?}",
        get("old-processes")
    );
    assert!(
        get("validate-groups").len() == 1
            && get("validate-groups")[0].contains("\"bar\" is not an absolute path")
    );
    // A single number is not a concurrency.
    let invalid = get("always-invalid-v2");
    assert_eq!(invalid.len(), 1, "{invalid:#?}");
    assert!(invalid[0].starts_with("24:3 fly/value `services.concurrency` = 20"));
    let mounts = get("validate-mounts");
    assert!(
        mounts
            .iter()
            .any(|e| e.starts_with("18:1 fly/value `mounts.initial_size` = \"unparseable\"")),
        "{mounts:#?}"
    );
    assert!(!mounts.iter().any(|e| e.contains("15Mb")), "15Mb is a size");
    let full = get("full-reference");
    assert!(
        full.iter()
            .any(|e| e.contains("`deploy.strategy` = \"rolling-eyes\"")),
        "{full:#?}"
    );
    assert!(full
        .iter()
        .any(|e| e.contains("`http_service.concurrency.type` = \"donuts\"")));
    assert!(full.iter().any(|e| e.contains("process group `app`")));
}
