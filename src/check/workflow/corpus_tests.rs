//! The workflow oracle: ~50 real deploy workflows (`tests/fixtures/corpus/workflows/`,
//! sources in its `SOURCES.tsv`) and `EXPECTED.tsv` beside them, written by reading each
//! workflow as a release engineer: every finding there must be reported, and nothing else.
//! Files of one repository are checked together, under their own paths, as `check` would
//! (a reusable workflow and its caller, staging and production in two files).

use super::Policy;
use crate::report::Diagnostic;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/workflows");
    assert!(
        d.is_dir(),
        "the workflow corpus is missing at {}",
        d.display()
    );
    d
}

/// (corpus file, repository, path in it, text) of each row of `dir/SOURCES.tsv`.
fn sources(dir: &Path) -> Vec<(String, String, String, String)> {
    let table = std::fs::read_to_string(dir.join("SOURCES.tsv")).expect("SOURCES.tsv");
    table
        .lines()
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let [file, repo, path, ..] = cols[..] else {
                panic!("{}/SOURCES.tsv: {line}", dir.display())
            };
            let text =
                std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            (file.into(), repo.into(), path.into(), text)
        })
        .collect()
}

/// (corpus file, finding) for every workflow of the corpus.
pub(crate) fn corpus_findings() -> Vec<(String, Diagnostic)> {
    let dir = dir();
    // repo → [(corpus file, path in the repo, text)]
    let mut repos: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for (file, repo, path, text) in sources(&dir) {
        repos.entry(repo).or_default().push((file, path, text));
    }
    let listed: BTreeSet<String> = repos.values().flatten().map(|(f, ..)| f.clone()).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("readable")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    assert_eq!(listed, on_disk, "SOURCES.tsv and the corpus files differ");
    // The same repositories' fly.toml files (the fly.toml corpus), where they are in the
    // repository: what a deploy reads (`[build] image`, `app`).
    let mut repo_files: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (_, repo, path, text) in sources(&dir.join("../fly")) {
        repo_files.entry(repo).or_default().insert(path, text);
    }
    let mut out = Vec::new();
    for (repo, files) in &repos {
        let refs: Vec<(&Path, &str)> = files
            .iter()
            .map(|(_, p, t)| (Path::new(p.as_str()), t.as_str()))
            .collect();
        let policy = Policy {
            files: repo_files.get(repo).cloned().unwrap_or_default(),
            ..Policy::default()
        };
        for d in super::check_all(&refs, &policy) {
            let file = files
                .iter()
                .find(|(_, p, _)| Path::new(p) == d.location.file)
                .map(|(f, ..)| f.clone())
                .expect("a finding in a checked file");
            out.push((file, d));
        }
    }
    out
}

fn key(file: &str, d: &Diagnostic) -> String {
    format!(
        "{file}\t{}:{}\t{}\t{}",
        d.location.line,
        d.location.column,
        d.severity.as_str(),
        d.rule
    )
}

#[test]
fn every_expected_finding_and_nothing_else() {
    let expected_text = std::fs::read_to_string(dir().join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for line in expected_text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.splitn(5, '\t').collect();
        assert_eq!(
            cols.len(),
            5,
            "EXPECTED.tsv: file, line:column, severity, rule, why: {line}"
        );
        assert!(!cols[4].trim().is_empty(), "EXPECTED.tsv: say why: {line}");
        let k = cols[..4].join("\t");
        assert!(
            expected.insert(k.clone(), cols[4].into()).is_none(),
            "listed twice: {k}"
        );
    }
    let found = corpus_findings();
    let got: BTreeMap<String, String> = found
        .iter()
        .map(|(f, d)| (key(f, d), d.message.clone()))
        .collect();
    assert_eq!(
        got.len(),
        found.len(),
        "two findings of one rule at one place"
    );
    let missing: Vec<&String> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<String> = got
        .iter()
        .filter(|(k, _)| !expected.contains_key(*k))
        .map(|(k, m)| format!("{k}\t{m}"))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "expected but not found:\n{}\n\nfound but not expected:\n{}",
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        extra.join("\n")
    );
}

#[test]
fn the_simultaneous_deploy_spans_files() {
    // Ubeydu deploys staging on `main` and production on `prod`: not simultaneous; with
    // production on `main` as well, it is, reported at production with staging related.
    let dir = dir();
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    let staging = read("Ubeydu__akluma-your-smart-piggy-bank__.github_workflows_fly-staging.yml");
    let prod = read("Ubeydu__akluma-your-smart-piggy-bank__.github_workflows_fly-prod.yml");
    let files = [
        (Path::new("staging.yml"), staging.as_str()),
        (Path::new("prod.yml"), prod.as_str()),
    ];
    let d = super::check_all(&files, &Policy::default());
    assert!(
        !d.iter().any(|d| d.rule == "workflow/simultaneous-deploy"),
        "{d:#?}"
    );
    let on_main = prod.replace("      - prod", "      - main");
    let files = [
        (Path::new("staging.yml"), staging.as_str()),
        (Path::new("prod.yml"), on_main.as_str()),
    ];
    let d = super::check_all(&files, &Policy::default());
    let sim = d
        .iter()
        .find(|d| d.rule == "workflow/simultaneous-deploy")
        .expect("simultaneous");
    assert_eq!(sim.location.file, Path::new("prod.yml"));
    assert_eq!(sim.related.as_ref().unwrap().file, Path::new("staging.yml"));
}

/// `cargo test corpus_counts -- --ignored --nocapture`: findings per rule over the corpus
/// and the time the checks take for all of it (for the closing note and the README).
#[test]
#[ignore]
fn corpus_counts() {
    let start = std::time::Instant::now();
    let found = corpus_findings();
    let took = start.elapsed();
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    for (_, d) in &found {
        *per_rule
            .entry(format!("{} {}", d.rule, d.severity.as_str()))
            .or_default() += 1;
    }
    for (r, n) in &per_rule {
        println!("{n:4} {r}");
    }
    println!("{} findings in {took:?}", found.len());
}
