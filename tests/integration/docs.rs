//! Generated and hand-written artefacts stay in sync with the code: action.yml's inputs and
//! outputs, the README tables, the exit-code table.

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
