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
    Rule { id: "config/duplicate-key", short: "A key written twice in one mapping of the stage-gate config", full: "YAML loaders keep only the last of two equal keys (`staging:` twice under `environments:`), so the first one's settings are silently dropped. stage-gate refuses the config and names both places.", fix: "Merge the two into one key, or rename one of them." },
    Rule { id: "config/missing", short: "No stage-gate config in the repository", full: "`check` found no `.github/stage-gate.yml` (or `.yaml`) and checked the fly.toml files and workflows it found without it (a notice). Commands that act on configured targets (`plan`, `deploy`, `promote`, `rollback`, `health` without `--url`, `notify` without a target) refuse to run without it (exit 2).", fix: "Create `.github/stage-gate.yml` (docs/config.md), or point `--config` (the action's `config` input) at the file." },
    Rule { id: "config/unreadable", short: "The stage-gate config cannot be read", full: "`.github/stage-gate.yml` (or `--config`) is missing, not UTF-8, not YAML, or too deeply nested.", fix: "Create the file, or point `--config` at it; fix the YAML at the line named." },
    Rule { id: "config/no-health-gate", short: "A target that nothing verifies after a deploy", full: "The target deploys with `strategy: immediate` (nothing waits for the machines) and has no health probe, so a deploy of an image that crashes still succeeds.", fix: "Add a `health` probe, or use a strategy that waits (`rolling`, `canary`, `bluegreen`)." },
    Rule { id: "config/production-rebuilds", short: "A production deploy that builds instead of promoting", full: "A Fly target of a production environment with no image and no `requires:` builds a new image with flyctl on every deploy, so production never runs the bytes another environment proved. With `requires:` it deploys the digest the required environment ran; `allow-rebuild: true` (a notice) lets a record without an artifact build anew.", fix: "Add `requires: staging` under the production environment (and drop `allow-rebuild` once every proving deploy records its artifact)." },
    Rule { id: "fly/syntax", short: "fly.toml is not valid TOML", full: "flyctl cannot read a fly.toml that is not valid TOML: every deploy of this file fails.", fix: "Fix the TOML at the line and column given (a duplicate table, a missing quote)." },
    Rule { id: "fly/empty", short: "fly.toml is empty", full: "The file has no settings at all; flyctl would deploy nothing meaningful from it.", fix: "Write the app's settings (at least `app` and `primary_region`), or remove the file." },
    Rule { id: "fly/type", short: "A fly.toml value of the wrong type", full: "flyctl refuses the file: a value has a type its field does not take (a string where a number goes, a table where a list goes).", fix: "Write the value with the type the message names." },
    Rule { id: "fly/value", short: "A fly.toml value flyctl refuses", full: "A value is out of range or malformed as flyctl reads it: a port outside 1–65535, a duration Go cannot parse, a size go-units cannot read, an unknown machine size or restart policy.", fix: "Write the value as the message says (durations like `\"15s\"`, sizes like `\"512mb\"`)." },
    Rule { id: "fly/unknown-key", short: "A key fly.toml does not define", full: "flyctl ignores keys it does not know, so a misspelt key silently does nothing.", fix: "Use the key the did-you-mean suggests, or remove it." },
    Rule { id: "fly/style", short: "A fly.toml construct that works but reads badly", full: "Valid, and deployed as written, but written in a way that misleads a reader (a list of one table where a table is meant).", fix: "Write it as the message suggests." },
    Rule { id: "fly/region", short: "primary_region is not a Fly.io region code", full: "`primary_region` names a region by code (`syd`, `ams`, `iad`); a city name or a typo is accepted by TOML and fails when flyctl creates the first machine there. A warning: a region added since stage-gate's list was written is reported until the list has it.", fix: "Write the region's code, as `fly platform regions` lists them (the did-you-mean names the nearest)." },
    Rule { id: "fly/plaintext-secret", short: "A secret written in plain text in fly.toml", full: "A value in `[env]` looks like a credential (a password, a token, a connection string with a password). fly.toml is committed; secrets belong in `fly secrets`.", fix: "Remove it from fly.toml, rotate it, and set it with `fly secrets set NAME=…`." },
    Rule { id: "fly/service-without-ports", short: "A service with no ports and no internal_port", full: "flyctl deploys it with a warning, and the service takes no traffic. It is often what `[[services.http_checks]]` alone becomes in TOML.", fix: "A check under a service is probably meant for `[[http_service.checks]]`; or give the service `internal_port` and `[[services.ports]]`." },
    Rule { id: "fly/missing-internal-port", short: "A service with ports but no internal_port", full: "flyctl refuses a service that routes ports to nothing inside the machine.", fix: "Set `internal_port` to the port the app listens on." },
    Rule { id: "fly/unknown-process-group", short: "A section names a process group that does not exist", full: "A `processes = [...]` list names a group `[processes]` does not define, so the section applies to no machine.", fix: "Name a group of `[processes]`, or add the group." },
    Rule { id: "fly/check-port", short: "A check probes a port no service listens on", full: "A top-level check's port is not the internal_port of any service, so the check fails on every machine.", fix: "Probe the service's internal_port, or remove the `port` to take the http_service's." },
    Rule { id: "fly/mount", short: "A [mounts] entry flyctl refuses", full: "A mount lacks `source` or `destination`, or a process group has more than one volume (Fly machines mount at most one).", fix: "Give each mount a `source` and a `destination`; one mount per process group." },
    Rule { id: "fly/missing-file", short: "The fly.toml a target names does not exist", full: "The stage-gate config points `fly.config` at a file that is not there; the deploy would fail.", fix: "Correct `fly.config`, or add the file." },
    Rule { id: "fly/missing-dockerfile", short: "The Dockerfile fly.toml names does not exist", full: "`[build] dockerfile` names a file that is not there; flyctl fails too.", fix: "Correct the path (it is relative to fly.toml), or add the Dockerfile." },
    Rule { id: "parity/difference", short: "Staging and production differ where they usually should not", full: "The staging fly.toml and the production fly.toml differ in a setting that changes how the app runs; staging then proves less about production.", fix: "Make them equal, or list the key under `check.parity-may-differ` in the stage-gate config (with a comment saying why)." },
    Rule { id: "parity/must-match", short: "Staging and production differ where the config says they must match", full: "The setting is one that must match: built in (internal ports, checks, processes, mount destinations, build) or listed under `check.parity-must-match` in the stage-gate config, and the two files differ (compared as flyctl reads them: `\"1gb\"` and `\"1024mb\"` are the same memory).", fix: "Make the two files agree on it." },
    Rule { id: "docker/base-tag", short: "A base image that is not pinned", full: "`FROM` uses `latest` or no tag, so the build changes under you between staging and production.", fix: "Pin a version tag, or a digest (`image:1.2@sha256:…`)." },
    Rule { id: "docker/root-user", short: "The app runs as root", full: "The final stage sets no `USER` (or sets root), so the app and anything that breaks it run as root.", fix: "Add `USER` with an unprivileged user in the final stage." },
    Rule { id: "docker/no-init", short: "No init process and no word on signal handling", full: "Outside Fly machines (whose init is PID 1), an app that is PID 1 may ignore SIGTERM and be killed mid-request on every deploy.", fix: "Use `ENTRYPOINT [\"tini\", \"--\"]`, or add a comment saying how the app handles SIGTERM." },
    Rule { id: "docker/missing-file", short: "A Dockerfile the config names does not exist", full: "A path in the stage-gate config names a Dockerfile that is not there.", fix: "Correct the path, or add the file." },
    Rule { id: "workflow/syntax", short: "A workflow that is not valid YAML or not a workflow", full: "GitHub cannot run a workflow it cannot parse, or one whose keys have the wrong shape; its deploys never happen.", fix: "Fix the YAML or the key at the line named; actionlint explains workflow syntax in detail." },
    Rule { id: "workflow/unknown-key", short: "A key GitHub does not know in a workflow, job or step", full: "GitHub refuses a workflow with a key it does not define at the top level, in a job or in a step (`enviroment:` for `environment:`, `runs-on:` beside `uses:` in a job that calls a reusable workflow), so none of its jobs run, deploys included.", fix: "Use the key the did-you-mean suggests, or remove it." },
    Rule { id: "workflow/simultaneous-deploy", short: "Staging and production deploy at the same time", full: "The same push deploys staging and production in parallel (in one workflow or two), so production does not wait for staging to prove the change. An error: staging then proves nothing.", fix: "Make the production job `needs:` the staging job, or promote with stage-gate from a tag or an approved environment." },
    Rule { id: "workflow/ungated-production", short: "A production deploy that nothing gates", full: "Every push to the integration branch (`main`, `master`, or any branch) deploys production with no `environment:` (whose protection rules can require reviewers), no tag or release-branch filter, no `needs:` on a staging deploy and no stage-gate promotion. A warning: a single-branch flow is a legitimate choice. An error when the stage-gate config says production `requires:` staging.", fix: "Deploy production from a tag, behind `environment: production` with required reviewers, or with `stage-gate promote` after staging." },
    Rule { id: "workflow/pr-production", short: "A production deploy that a pull request runs", full: "The deploy runs on `pull_request`: a branch nobody has reviewed goes live (and a fork's pull request, which gets no secrets, fails).", fix: "Keep production deploys to pushes (`if: github.event_name == 'push'`); deploy pull requests to a preview app." },
    Rule { id: "workflow/dispatch-any-branch", short: "A production deploy that a manual or chained run starts from any branch", full: "`workflow_dispatch` (or `workflow_run` without a `branches:` filter) starts the deploy from whichever branch it is run on, so an unmerged branch can go live.", fix: "Add `if: github.ref == 'refs/heads/main'` (or `github.event.workflow_run.head_branch == 'main'`), or an `environment:` with a deployment-branch rule." },
    Rule { id: "workflow/fork-secrets", short: "pull_request_target checks out the pull request's code", full: "`pull_request_target` runs with secrets and a write token; checking out the head of a fork's pull request runs its code with them. zizmor reports it as `dangerous-triggers`; when zizmor runs, its finding stands for this one.", fix: "Use `pull_request`, or do not check out the head in a job that holds secrets." },
    Rule { id: "workflow/deploy-concurrency", short: "A deploy job with no concurrency group", full: "Two runs can deploy at once and finish out of order, leaving the older commit live.", fix: "Add `concurrency: {group: deploy-<env>, cancel-in-progress: false}` to the job (one group per environment)." },
    Rule { id: "workflow/cancel-in-progress", short: "A running deploy is cancelled when a newer run starts", full: "`cancel-in-progress: true` on the workflow or the deploy job stops a deploy half-way: some machines updated and some not, a migration half-run, an app pinned to an image it never deployed.", fix: "Set `cancel-in-progress: false`: the newer run waits for the running deploy (a pending run is still replaced by a newer one)." },
    Rule { id: "workflow/curl-no-fail", short: "A deploy webhook or API call that passes on an HTTP error", full: "`curl` exits 0 on a 401 or a 500 unless told otherwise, so the job reports a deploy that never started.", fix: "Add `--fail-with-body` (or `-f`), or write the status with `-w '%{http_code}'` and test it." },
    Rule { id: "workflow/deploy-unverified", short: "A fire-and-forget deploy that nothing checks afterwards", full: "`flyctl deploy --detach`, a deploy webhook or Coolify's deploy API returns before the new version runs; with no step after it that probes the app, a deploy that fails still passes.", fix: "Add a step that waits for the new version (`curl --fail --retry …` on a health URL, Coolify's `/api/v1/deployments/<id>`), or deploy with stage-gate, whose health gate probes until healthy." },
    Rule { id: "workflow/script-injection", short: "Text an outsider controls expanded into a script", full: "`${{ … }}` is pasted into `run:` before the shell reads it. An error for `github.event` text (titles, bodies, branch names, commit messages: whoever opens the pull request or pushes sets them); a warning for string inputs of `workflow_dispatch` (whoever may run the workflow) or `workflow_call` (the caller). Boolean, number, choice and environment inputs are not reported. zizmor reports it as `template-injection`; when zizmor runs, its finding stands for this one.", fix: "Pass the value through `env:` and use `\"$VAR\"` in the script." },
    Rule { id: "workflow/secret-in-run", short: "A secret written into a script's text", full: "`${{ secrets.X }}` inside `run:` becomes part of the script file on the runner and of the command's arguments (visible to every process of the job), and a quote in the secret breaks the script.", fix: "Map the secret in the step's `env:` and use `\"$X\"` in the script." },
    Rule { id: "workflow/permissions", short: "Token permissions broader than a deploy needs, or one it lacks", full: "Judged per job (a job's own `permissions:` replaces the workflow's): `write-all`; workflow-wide write scopes that reach jobs which set none of their own; or a stage-gate deploy whose token lacks `deployments: write` (an error: it stops with 403). A workflow with no `permissions:` at all is left to zizmor's `excessive-permissions`.", fix: "Start from `permissions: {contents: read}` and grant each job the scopes it uses." },
    Rule { id: "workflow/unpinned-action", short: "An action at a movable ref beside a deploy token", full: "A third-party action pinned to a tag or branch runs in a job that holds a deploy secret: whoever can move the ref runs code beside the token (GitHub's own `actions/*` and `github/*` are left out, as zizmor's default policy does). zizmor reports it as `unpinned-uses`; when zizmor runs, its finding stands for this one.", fix: "Pin the action to a full commit SHA, with the version in a comment." },
    Rule { id: "workflow/checkout-credentials", short: "The checkout's token is uploaded with the build context", full: "`actions/checkout` keeps the job's GITHUB_TOKEN in `.git/config`; `flyctl deploy` (building on Fly's remote builder) uploads the folder, `.git` included unless `.dockerignore` leaves it out. zizmor reports the checkout as `artipacked`; when zizmor runs, its finding stands for this one.", fix: "Add `persist-credentials: false` to the checkout, or `.git` to `.dockerignore`." },
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
        let mut files = Vec::new();
        let mut dirs = vec![root().join("src/check"), root().join("src/config")];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                if e.path().is_dir() {
                    dirs.push(e.path());
                } else {
                    files.push(e.path());
                }
            }
        }
        for path in files {
            {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
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
