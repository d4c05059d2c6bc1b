//! Our SARIF against the official SARIF 2.1.0 JSON schema (committed in
//! tests/fixtures/sarif/, see SOURCES.tsv), with format assertions on (`uri`, `date-time`…):
//! a clean repository, a repository in a folder with a space and a non-ASCII name, a monorepo
//! subdirectory, and a document with every catalogued rule firing.

use crate::common::Run;
use serde_json::Value;
use stage_gate::report::diagnostic::{Diagnostic, Location};
use stage_gate::report::{rules, sarif};
use std::path::Path;

fn schema_problems(doc: &Value) -> Vec<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema")).expect("json");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler
        .add_resource("sarif-schema.json", schema)
        .expect("schema added");
    let index = compiler
        .compile("sarif-schema.json", &mut schemas)
        .expect("schema compiles");
    match schemas.validate(doc, index) {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("{e:#}")],
    }
}

fn assert_valid(doc: &Value, what: &str) {
    let problems = schema_problems(doc);
    assert!(
        problems.is_empty(),
        "{what}: SARIF does not match the schema:\n{}",
        problems.join("\n")
    );
}

/// The validator is not kind: a wrong document fails (a test that could not fail proves
/// nothing).
#[test]
fn the_validator_refuses_a_broken_document() {
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]});
    assert!(
        !schema_problems(&bad).is_empty(),
        "a driver without a name passed"
    );
    let bad_uri = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "informationUri": "not a uri"}}}]});
    assert!(
        !schema_problems(&bad_uri).is_empty(),
        "format assertions are off"
    );
}

#[test]
fn every_catalogued_rule_firing_is_valid_sarif() {
    let mut diags: Vec<Diagnostic> = rules::RULES
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Diagnostic::warning(
                r.id,
                format!("{} (case {i})", r.short),
                Location::new("apps/my app/fly.toml", i + 1, 3),
            )
            .with_help(r.fix)
        })
        .collect();
    diags.push(Diagnostic::error(
        "zizmor/template-injection",
        "code injection",
        Location::new(".github/workflows/deploy.yml", 12, 9),
    ));
    diags.push(Diagnostic::error(
        "actionlint/expression",
        "bad expression",
        Location::new(".github/workflows/dienste-grüße.yml", 3, 1),
    ));
    let doc = sarif::document(&diags, "0.1.0", "stage-gate/check/apps/");
    assert_valid(&doc, "every rule");
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert_eq!(rules.len(), rules::RULES.len() + 2);
    for r in rules {
        for key in ["shortDescription", "fullDescription"] {
            assert!(
                r[key]["text"].as_str().is_some_and(|t| !t.is_empty()),
                "{} {key}",
                r["id"]
            );
        }
        assert!(
            r["help"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("Fix")),
            "{}",
            r["id"]
        );
        assert!(r["help"]["markdown"].as_str().is_some(), "{}", r["id"]);
        assert!(
            r["helpUri"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://")),
            "{}",
            r["id"]
        );
    }
}

const CONFIG: &str = "version: 1\nenvironments:\n  staging: {}\n  production: {requires: staging}\napps:\n  web:\n    environments:\n      staging:\n        fly: {config: fly.staging.toml}\n      production:\n        fly: {config: fly.toml}\n";
const PRODUCTION: &str =
    "app = \"web\"\nprimary_region = \"ams\"\n\n[http_service]\n  internal_port = 8080\n";

fn write_app(dir: &Path, staging: &str) {
    std::fs::create_dir_all(dir.join(".github")).unwrap();
    std::fs::write(dir.join(".github/stage-gate.yml"), CONFIG).unwrap();
    std::fs::write(dir.join("fly.toml"), PRODUCTION).unwrap();
    std::fs::write(dir.join("fly.staging.toml"), staging).unwrap();
}

fn check_sarif(cwd: &Path, root: Option<&Path>) -> Value {
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("check.sarif");
    let mut run = Run::new(cwd)
        .env("STAGE_GATE_EXTERNAL_LINTERS", "off")
        .args(["check", "--sarif-file", file.to_str().unwrap()]);
    if let Some(r) = root {
        run = run.args(["--root", r.to_str().unwrap()]);
    }
    let out = run.run();
    assert!(out.code == 0 || out.code == 2, "{}", out.all());
    serde_json::from_str(&std::fs::read_to_string(&file).expect("sarif written")).expect("json")
}

#[test]
fn a_clean_repository_is_valid_sarif() {
    let dir = tempfile::tempdir().unwrap();
    write_app(dir.path(), "app = \"web-staging\"\nprimary_region = \"ams\"\n\n[http_service]\n  internal_port = 8080\n");
    let doc = check_sarif(dir.path(), None);
    assert_eq!(doc["runs"][0]["results"].as_array().map(Vec::len), Some(0));
    assert_valid(&doc, "clean repository");
}

#[test]
fn a_path_with_a_space_and_a_non_ascii_name_is_valid_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("my apps/dienste grüße");
    write_app(&top, "app = \"web-staging\"\nprimary_region = \"ams\"\n\n[http_service]\n  internal_port = 70000\n");
    let doc = check_sarif(&top, None);
    assert!(!doc["runs"][0]["results"]
        .as_array()
        .expect("results")
        .is_empty());
    assert_valid(&doc, "space and non-ASCII");
}

#[test]
fn a_monorepo_subdirectory_is_valid_sarif_named_from_the_top() {
    let top = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(top.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let app = top.path().join("apps/wëb app");
    write_app(&app, "app = \"web-staging\"\nprimary_region = \"ams\"\n\n[http_service]\n  internal_port = 70000\n");
    let doc = check_sarif(top.path(), Some(&app));
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .clone();
    assert_eq!(uri, "apps/w%C3%ABb%20app/fly.staging.toml");
    assert_valid(&doc, "monorepo subdirectory");
}
