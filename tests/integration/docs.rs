//! Generated and hand-written artefacts stay in sync with the code: action.yml's inputs and
//! outputs, the README tables, the exit-code table.

use crate::common::Run;
use stage_gate::exit::Exit;
use stage_gate::inputs::{markdown_tables, INPUTS, OUTPUTS};

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn action_yml_declares_every_input_and_output() {
    let action: serde_json::Value = serde_yaml::from_str(&repo_file("action.yml")).unwrap();
    let inputs = action["inputs"].as_object().unwrap();
    let names: Vec<&str> = inputs.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = INPUTS.iter().map(|i| i.name).collect();
    let mut got = names.clone();
    expected.sort();
    got.sort();
    assert_eq!(
        got, expected,
        "action.yml inputs differ from src/inputs.rs INPUTS"
    );
    for spec in INPUTS {
        let i = &inputs[spec.name];
        assert_eq!(
            i["default"].as_str(),
            Some(spec.default),
            "default of {}",
            spec.name
        );
        assert_eq!(
            i["description"].as_str(),
            Some(spec.description),
            "description of {}",
            spec.name
        );
    }
    let outputs = action["outputs"].as_object().unwrap();
    for (name, _) in OUTPUTS {
        assert_eq!(
            outputs[*name]["value"].as_str(),
            Some(format!("${{{{ steps.run.outputs.{name} }}}}").as_str())
        );
    }
    assert_eq!(outputs.len(), OUTPUTS.len());
}

#[test]
fn action_yml_passes_inputs_only_through_env() {
    let text = repo_file("action.yml");
    let action: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    for step in action["runs"]["steps"].as_array().unwrap() {
        let run = step["run"].as_str().unwrap_or_default();
        assert!(
            !run.contains("${{"),
            "a run: script interpolates an expression: {run}"
        );
    }
    let run_step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "run")
        .expect("the step that runs stage-gate");
    for spec in INPUTS {
        let var = stage_gate::inputs::input_var(spec.name);
        assert_eq!(
            run_step["env"][&var].as_str(),
            Some(format!("${{{{ inputs.{} }}}}", spec.name).as_str()),
            "{var} is not passed through env"
        );
    }
}

#[test]
fn readme_tables_are_current() {
    let readme = repo_file("README.md");
    let start = readme
        .find("<!-- inputs:start -->\n")
        .expect("README has the inputs marker");
    let end = readme
        .find("<!-- inputs:end -->")
        .expect("README has the inputs end marker");
    let current = &readme[start + "<!-- inputs:start -->\n".len()..end];
    if std::env::var_os("STAGE_GATE_BLESS").is_some() && current != markdown_tables() {
        let fresh = format!(
            "{}{}{}",
            &readme[..start + "<!-- inputs:start -->\n".len()],
            markdown_tables(),
            &readme[end..]
        );
        std::fs::write(format!("{}/README.md", env!("CARGO_MANIFEST_DIR")), fresh).unwrap();
        return;
    }
    assert_eq!(
        current,
        markdown_tables(),
        "README inputs/outputs tables are stale"
    );
    for exit in Exit::all() {
        let row = format!("| {} | {} |", exit.code(), exit.meaning());
        assert!(
            readme.contains(&row),
            "README exit-code table lacks `{row}`"
        );
    }
}

/// The README's Quick start, extracted block by block (each names its file in its first
/// line) into a fresh repository, passes `stage-gate check` with no error and no warning.
/// With zizmor on PATH (CI puts it there and sets STAGE_GATE_REQUIRE_ZIZMOR=1, so it cannot
/// be silently absent) zizmor's findings are part of the check too.
#[test]
fn the_readme_quick_start_passes_check() {
    let readme = repo_file("README.md");
    let start = readme.find("## Quick start\n").expect("a Quick start");
    let section = &readme[start..];
    let end = section[3..]
        .find("\n## ")
        .map(|i| i + 3)
        .unwrap_or(section.len());
    let section = &section[..end];
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for block in section.split("```").skip(1).step_by(2) {
        let body = block.split_once('\n').map(|(_, b)| b).unwrap_or("");
        let first = body.lines().next().unwrap_or("");
        let Some(path) = first
            .strip_prefix("# ")
            .and_then(|p| p.split_whitespace().next())
        else {
            continue;
        };
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, body).unwrap();
        written.push(path.to_string());
        if path == "fly.toml" {
            std::fs::write(
                dir.path().join("fly.staging.toml"),
                body.replace("app = \"web\"", "app = \"web-staging\""),
            )
            .unwrap();
        }
    }
    assert_eq!(
        written,
        [
            ".github/workflows/deploy.yml",
            ".github/stage-gate.yml",
            "fly.toml",
            ".github/zizmor.yml"
        ],
        "the Quick start's blocks"
    );
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(git.success());
    let zizmor = crate::common::on_path("zizmor");
    if std::env::var("STAGE_GATE_REQUIRE_ZIZMOR").as_deref() == Ok("1") {
        assert!(
            zizmor,
            "STAGE_GATE_REQUIRE_ZIZMOR=1 but zizmor is not on PATH"
        );
    }
    let mut run = Run::new(dir.path()).args(["check"]);
    if !zizmor {
        run = run.env("STAGE_GATE_EXTERNAL_LINTERS", "off");
    }
    let out = run.run();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("0 error(s), 0 warning(s)"),
        "{}",
        out.stdout
    );
}

/// The README's table of workflow rules names every catalogued `workflow/` rule, each with
/// a severity and an example.
#[test]
fn readme_lists_every_workflow_rule_with_an_example() {
    let readme = repo_file("README.md");
    let table = readme
        .split("### What the workflow checks find")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has the workflow checks section");
    for rule in stage_gate::report::rules::RULES
        .iter()
        .filter(|r| r.id.starts_with("workflow/"))
    {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", rule.id)))
            .unwrap_or_else(|| panic!("README's workflow table lacks `{}`", rule.id));
        let cells: Vec<&str> = row.split(" | ").collect();
        assert!(
            cells.len() >= 3 && cells[2].trim_end_matches(" |").len() > 10,
            "{row}"
        );
        assert!(
            cells[1].contains("warning") || cells[1].contains("error"),
            "{row}"
        );
    }
}

/// Every `STAGE_GATE_*` variable the code reads or sets is documented in the README.
#[test]
fn every_stage_gate_variable_is_documented() {
    let readme = repo_file("README.md");
    let re = regex::Regex::new(r#""(STAGE_GATE_[A-Z_]+)""#).unwrap();
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                seen.extend(re.captures_iter(&text).map(|c| c[1].to_string()));
            }
        }
    }
    assert!(seen.len() >= 15, "{seen:?}");
    let missing: Vec<&String> = seen
        .iter()
        .filter(|v| !readme.contains(&format!("`{v}`")))
        .collect();
    assert!(missing.is_empty(), "not in the README: {missing:?}");
}
