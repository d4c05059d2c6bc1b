//! The catalogue of check rules: what each finding means and how to fix it, once. SARIF's
//! `rules[]` (shortDescription, fullDescription, help, helpUri) and `docs/rules.md` are made
//! from it; a test keeps both in step with the rule ids the checks use.

/// Where the rule documentation lives (one repository name, said once).
pub const REPOSITORY: &str = "https://github.com/stage-gate/stage-gate";
pub const DOC_PATH: &str = "docs/rules.md";

pub struct Rule {
    pub id: &'static str,
    /// One line.
    pub short: &'static str,
    /// What it means and why it matters.
    pub full: &'static str,
    /// How to fix it.
    pub fix: &'static str,
}

pub const RULES: &[Rule] = &[
    Rule { id: "check/unreadable", short: "A file the check needs cannot be read", full: "A file named by the stage-gate config or found in the repository could not be read (permissions, not UTF-8, a directory), so it was not checked.", fix: "Make the file readable UTF-8 text, or correct the path that names it." },
    Rule { id: "config/invalid", short: "A value in the stage-gate config is not valid", full: "A value in `.github/stage-gate.yml` has the wrong type or is out of range (a duration without a unit, a URL that is not http(s), a status code that does not exist). stage-gate refuses the config before any deploy rather than fail half-way through one.", fix: "Write the value as the message says; durations take a unit (`30s`, `5m`)." },
    Rule { id: "config/unknown-key", short: "A key the stage-gate config does not know", full: "The stage-gate config has a key it does not define, usually a typo; the setting it was meant to be is silently at its default.", fix: "Use the key the did-you-mean suggests, or remove it." },
    Rule { id: "config/unreadable", short: "The stage-gate config cannot be read", full: "`.github/stage-gate.yml` (or `--config`) is missing, not UTF-8, not YAML, or too deeply nested.", fix: "Create the file, or point `--config` at it; fix the YAML at the line named." },
    Rule { id: "config/no-health-gate", short: "A target that nothing verifies after a deploy", full: "The target deploys with `strategy: immediate` (nothing waits for the machines) and has no health probe, so a deploy of an image that crashes still succeeds.", fix: "Add a `health` probe, or use a strategy that waits (`rolling`, `canary`, `bluegreen`)." },
    Rule { id: "fly/syntax", short: "fly.toml is not valid TOML", full: "flyctl cannot read a fly.toml that is not valid TOML: every deploy of this file fails.", fix: "Fix the TOML at the line and column given (a duplicate table, a missing quote)." },
    Rule { id: "fly/empty", short: "fly.toml is empty", full: "The file has no settings at all; flyctl would deploy nothing meaningful from it.", fix: "Write the app's settings (at least `app` and `primary_region`), or remove the file." },
    Rule { id: "fly/type", short: "A fly.toml value of the wrong type", full: "flyctl refuses the file: a value has a type its field does not take (a string where a number goes, a table where a list goes).", fix: "Write the value with the type the message names." },
    Rule { id: "fly/value", short: "A fly.toml value flyctl refuses", full: "A value is out of range or malformed as flyctl reads it: a port outside 1–65535, a duration Go cannot parse, a size go-units cannot read, an unknown machine size or restart policy.", fix: "Write the value as the message says (durations like `\"15s\"`, sizes like `\"512mb\"`)." },
    Rule { id: "fly/unknown-key", short: "A key fly.toml does not define", full: "flyctl ignores keys it does not know, so a misspelt key silently does nothing.", fix: "Use the key the did-you-mean suggests, or remove it." },
    Rule { id: "fly/style", short: "A fly.toml construct that works but reads badly", full: "Valid, and deployed as written, but written in a way that misleads a reader (a list of one table where a table is meant).", fix: "Write it as the message suggests." },
    Rule { id: "fly/plaintext-secret", short: "A secret written in plain text in fly.toml", full: "A value in `[env]` looks like a credential (a password, a token, a connection string with a password). fly.toml is committed; secrets belong in `fly secrets`.", fix: "Remove it from fly.toml, rotate it, and set it with `fly secrets set NAME=…`." },
    Rule { id: "fly/service-without-ports", short: "A service with no ports and no internal_port", full: "flyctl deploys it with a warning, and the service takes no traffic. It is often what `[[services.http_checks]]` alone becomes in TOML.", fix: "A check under a service is probably meant for `[[http_service.checks]]`; or give the service `internal_port` and `[[services.ports]]`." },
    Rule { id: "fly/missing-internal-port", short: "A service with ports but no internal_port", full: "flyctl refuses a service that routes ports to nothing inside the machine.", fix: "Set `internal_port` to the port the app listens on." },
    Rule { id: "fly/unknown-process-group", short: "A section names a process group that does not exist", full: "A `processes = [...]` list names a group `[processes]` does not define, so the section applies to no machine.", fix: "Name a group of `[processes]`, or add the group." },
    Rule { id: "fly/check-port", short: "A check probes a port no service listens on", full: "A top-level check's port is not the internal_port of any service, so the check fails on every machine.", fix: "Probe the service's internal_port, or remove the `port` to take the http_service's." },
    Rule { id: "fly/mount", short: "A [mounts] entry flyctl refuses", full: "A mount lacks `source` or `destination`, or a process group has more than one volume (Fly machines mount at most one).", fix: "Give each mount a `source` and a `destination`; one mount per process group." },
    Rule { id: "fly/missing-file", short: "The fly.toml a target names does not exist", full: "The stage-gate config points `fly.config` at a file that is not there; the deploy would fail.", fix: "Correct `fly.config`, or add the file." },
    Rule { id: "fly/missing-dockerfile", short: "The Dockerfile fly.toml names does not exist", full: "`[build] dockerfile` names a file that is not there; flyctl fails too.", fix: "Correct the path (it is relative to fly.toml), or add the Dockerfile." },
    Rule { id: "parity/difference", short: "Staging and production differ where they usually should not", full: "The staging fly.toml and the production fly.toml differ in a setting that changes how the app runs; staging then proves less about production.", fix: "Make them equal, or list the key under `parity.allow` with the reason." },
    Rule { id: "parity/must-match", short: "Staging and production differ where the config says they must match", full: "The stage-gate config lists this setting under `parity.must-match`, and the two files differ.", fix: "Make the two files agree on it." },
    Rule { id: "docker/base-tag", short: "A base image that is not pinned", full: "`FROM` uses `latest` or no tag, so the build changes under you between staging and production.", fix: "Pin a version tag, or a digest (`image:1.2@sha256:…`)." },
    Rule { id: "docker/root-user", short: "The app runs as root", full: "The final stage sets no `USER` (or sets root), so the app and anything that breaks it run as root.", fix: "Add `USER` with an unprivileged user in the final stage." },
    Rule { id: "docker/no-init", short: "No init process and no word on signal handling", full: "Outside Fly machines (whose init is PID 1), an app that is PID 1 may ignore SIGTERM and be killed mid-request on every deploy.", fix: "Use `ENTRYPOINT [\"tini\", \"--\"]`, or add a comment saying how the app handles SIGTERM." },
    Rule { id: "docker/missing-file", short: "A Dockerfile the config names does not exist", full: "A path in the stage-gate config names a Dockerfile that is not there.", fix: "Correct the path, or add the file." },
    Rule { id: "workflow/syntax", short: "A workflow that is not valid YAML", full: "GitHub cannot run a workflow it cannot parse; its deploys never happen.", fix: "Fix the YAML at the line named." },
    Rule { id: "workflow/simultaneous-deploy", short: "Staging and production deploy at the same time", full: "The same push deploys staging and production in parallel, so production does not wait for staging to prove the change.", fix: "Make the production job `needs:` the staging job, or promote with stage-gate." },
    Rule { id: "workflow/ungated-production", short: "A production deploy that nothing gates", full: "A branch push deploys production with no environment protection, no tag or branch filter, no `needs:` on staging and no stage-gate promotion.", fix: "Add `environment: production` with required reviewers, or promote from staging with stage-gate." },
    Rule { id: "workflow/pr-secrets", short: "A deploy with secrets on pull_request", full: "The job deploys with a deploy token on `pull_request`: any branch's code runs with it (and fork PRs get no secrets and fail).", fix: "Restrict the deploy to pushes: `if: github.event_name == 'push'`." },
    Rule { id: "workflow/fork-secrets", short: "pull_request_target checks out the pull request's code", full: "`pull_request_target` runs with secrets and a write token; checking out the head of a fork's pull request runs its code with them.", fix: "Use `pull_request`, or do not check out the head in a job that holds secrets." },
    Rule { id: "workflow/deploy-concurrency", short: "A deploy job with no concurrency group", full: "Two runs can deploy at once and finish out of order, leaving the older commit live.", fix: "Add `concurrency: {group: deploy-<env>, cancel-in-progress: false}`." },
    Rule { id: "workflow/script-injection", short: "Attacker-controlled text expanded into a script", full: "`${{ … }}` of a value an outsider controls (an issue title, a branch name, a string input) is pasted into `run:` and runs as shell.", fix: "Pass the value through `env:` and use `\"$VAR\"` in the script." },
    Rule { id: "workflow/permissions", short: "Token permissions broader than a deploy needs", full: "The workflow or job grants `write-all` or more scopes than it uses, or lacks one the deploy needs (`deployments: write`).", fix: "Start from `permissions: {}` and grant each job the scopes it needs." },
];

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// GitHub's heading anchor for `### fly/empty` → `flyempty` (lowercase; punctuation other
/// than `-` and `_` dropped; spaces become `-`).
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The documentation page of `id`: our catalogue's anchor, or the tool's own docs for the
/// findings of zizmor and actionlint.
pub fn help_uri(id: &str) -> String {
    if let Some(audit) = id.strip_prefix("zizmor/") {
        return format!("https://docs.zizmor.sh/audits/#{audit}");
    }
    if id.starts_with("actionlint/") {
        return "https://github.com/rhysd/actionlint/blob/main/docs/checks.md".into();
    }
    format!("{REPOSITORY}/blob/main/{DOC_PATH}#{}", anchor(id))
}

/// `docs/rules.md`, made from the catalogue.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Check rules\n\n<!-- Generated from src/report/rules.rs: edit there, then run\n     STAGE_GATE_BLESS=1 cargo test --lib rules_doc_is_current -->\n\nEvery finding of `stage-gate check` names one of these rules. Findings of zizmor and\nactionlint keep their own ids (`zizmor/<audit>`, `actionlint/<kind>`) and link to those\ntools' documentation.\n",
    );
    for r in RULES {
        out.push_str(&format!(
            "\n### {}\n\n**{}.** {}\n\n**Fix:** {}\n",
            r.id, r.short, r.full, r.fix
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    /// Every rule id a check can emit (string literals `"area/name"` in src/check and
    /// src/config) has a catalogue entry, and every entry is used.
    #[test]
    fn every_rule_the_checks_emit_is_catalogued() {
        let re =
            regex::Regex::new(r#""((?:config|check|fly|parity|docker|workflow)/[a-z][a-z0-9-]*)""#)
                .unwrap();
        let mut used = BTreeSet::new();
        for dir in ["src/check", "src/config"] {
            for e in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                // Test modules name rules too; only the code above them counts.
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
                for c in re.captures_iter(code) {
                    used.insert(c[1].to_string());
                }
            }
        }
        for id in &used {
            assert!(
                find(id).is_some(),
                "rule `{id}` is emitted but not in src/report/rules.rs"
            );
        }
        for r in RULES {
            assert!(
                used.contains(r.id),
                "rule `{}` is catalogued but never emitted",
                r.id
            );
            assert!(
                !r.short.ends_with('.') && !r.full.is_empty() && !r.fix.is_empty(),
                "{}",
                r.id
            );
        }
    }

    #[test]
    fn rules_doc_is_current() {
        let path = root().join(DOC_PATH);
        let want = markdown();
        if std::env::var("STAGE_GATE_BLESS").as_deref() == Ok("1") {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{DOC_PATH} is stale: run STAGE_GATE_BLESS=1 cargo test --lib rules_doc_is_current"
        );
    }

    /// Each helpUri's anchor is a heading of docs/rules.md.
    #[test]
    fn help_uris_resolve_to_headings() {
        let doc = std::fs::read_to_string(root().join(DOC_PATH)).unwrap_or_default();
        let anchors: BTreeSet<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("### "))
            .map(anchor)
            .collect();
        for r in RULES {
            let uri = help_uri(r.id);
            let (_, a) = uri.split_once('#').expect("an anchor");
            assert!(anchors.contains(a), "{uri}: no heading with anchor {a}");
        }
        assert_eq!(
            anchor("workflow/script-injection"),
            "workflowscript-injection"
        );
    }
}
