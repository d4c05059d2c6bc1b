//! What a user sees for a config that a YAML loader would read without a word: a key
//! written twice, a month where minutes were meant, a key in the wrong block, a Windows
//! path, a byte-order mark. Each is exit 2 at the value's line and column, all in one run.

use crate::common::{repo_with_config, Run};

#[test]
fn a_duplicate_key_is_exit_2_naming_both_places() {
    let repo = repo_with_config(
        "version: 1\nenvironments:\n  staging: {branches: [main]}\n  production: {}\n  staging: {}\n",
    );
    let out = Run::new(repo.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains(
            ".github/stage-gate.yml:5:3: error[config/duplicate-key]: duplicate key `staging`: it is also at line 3, column 3"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("= see also .github/stage-gate.yml:3:3"),
        "{}",
        out.stdout
    );
}

/// A first config with a byte-order mark, months for minutes, a key written twice, a key in
/// the wrong block, a Windows path and a misspelt strategy: five errors in one run, each at
/// its value, with the fix, exactly as the user reads them.
#[test]
fn a_first_config_gets_every_mistake_in_one_run() {
    let repo = repo_with_config(
        "\u{feff}version: 1\nenvironments:\n  staging: {branches: [main]}\n  production:\n    requires: staging\n    soak: \"15M\"\n  staging: {}\napps:\n  web:\n    environments:\n      production:\n        require: staging\n        fly:\n          config: infra\\fly\\fly.toml\n          strategy: blue-green\n",
    );
    let out = Run::new(repo.path()).args(["check"]).run();
    assert_eq!(out.code, 2, "{}", out.all());
    insta::assert_snapshot!(out.stdout);
}
