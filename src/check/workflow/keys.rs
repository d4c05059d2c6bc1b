//! Keys GitHub Actions knows at the top of a workflow, in a job and in a step. GitHub refuses
//! a workflow with any other key there (`enviroment:` in a job: "Unexpected value"), so the
//! workflow never runs; the typed model ignores such keys, so they are found here, on the
//! tree, each at its own line and column with a did-you-mean.
//!
//! From GitHub's "Workflow syntax for GitHub Actions" reference.

use super::source::Source;
use crate::config::suggest::did_you_mean;
use crate::config::yaml_tree::Node;
use crate::report::Diagnostic;

const WORKFLOW: &[&str] = &[
    "name",
    "run-name",
    "on",
    "permissions",
    "env",
    "defaults",
    "concurrency",
    "jobs",
];

/// A job that runs steps on a runner.
const JOB: &[&str] = &[
    "name",
    "permissions",
    "needs",
    "if",
    "runs-on",
    "snapshot",
    "environment",
    "concurrency",
    "outputs",
    "env",
    "defaults",
    "steps",
    "timeout-minutes",
    "strategy",
    "continue-on-error",
    "container",
    "services",
];

/// A job that calls a reusable workflow (`uses:`).
const CALLER_JOB: &[&str] = &[
    "name",
    "uses",
    "with",
    "secrets",
    "needs",
    "if",
    "permissions",
    "concurrency",
    "strategy",
];

const STEP: &[&str] = &[
    "id",
    "if",
    "name",
    "uses",
    "run",
    "working-directory",
    "shell",
    "with",
    "env",
    "continue-on-error",
    "timeout-minutes",
];

/// Every key GitHub does not know at the top level, in a job or in a step.
pub fn check(src: &Source) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(root @ Node::Map(..)) = src.tree() else {
        return out;
    };
    unknown(src, root, &[], WORKFLOW, "a workflow", &mut out);
    let Some(Node::Map(jobs, _)) = root.get("jobs") else {
        return out;
    };
    for (id, _, job) in jobs {
        let calls = job.get("uses").is_some();
        let (known, what) = if calls {
            (CALLER_JOB, "a job that calls a reusable workflow (`uses:`)")
        } else {
            (JOB, "a job")
        };
        unknown(src, job, &["jobs", id], known, what, &mut out);
        let Some(Node::Seq(steps, _)) = job.get("steps").filter(|_| !calls) else {
            continue;
        };
        for (i, step) in steps.iter().enumerate() {
            let index = i.to_string();
            unknown(
                src,
                step,
                &["jobs", id, "steps", &index],
                STEP,
                "a step",
                &mut out,
            );
        }
    }
    out
}

fn unknown(
    src: &Source,
    node: &Node,
    path: &[&str],
    known: &[&str],
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Node::Map(entries, _) = node else { return };
    for (key, ..) in entries {
        if known.contains(&key.as_str()) {
            continue;
        }
        let mut at = path.to_vec();
        at.push(key);
        // A key of a runner job on a caller job is misplaced rather than misspelt.
        let elsewhere = (known == CALLER_JOB && JOB.contains(&key.as_str()))
            .then(|| format!("`{key}` is not allowed on a job that calls a reusable workflow"));
        let listed = known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match (elsewhere, did_you_mean(key, known)) {
            (Some(e), _) => format!("{e} ({what} takes {listed})"),
            (None, Some(near)) => format!("did you mean `{near}`? ({what} takes {listed})"),
            (None, None) => format!("{what} takes {listed}"),
        };
        out.push(
            Diagnostic::error(
                "workflow/unknown-key",
                format!("unknown key `{key}` in {what}: GitHub refuses the workflow"),
                src.key(&at),
            )
            .with_help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn findings(text: &str) -> Vec<Diagnostic> {
        let path = Path::new(".github/workflows/deploy.yml");
        let src = Source::read(path, text).unwrap_or_else(|_| panic!("a workflow"));
        check(&src)
    }

    #[test]
    fn a_misspelt_job_key_is_an_error_at_the_key_with_a_did_you_mean() {
        let d = findings(
            "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    enviroment: production\n    steps:\n      - run: flyctl deploy\n        workdir: app\n",
        );
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(d[0].rule, "workflow/unknown-key");
        assert_eq!(
            d[0].message,
            "unknown key `enviroment` in a job: GitHub refuses the workflow"
        );
        assert_eq!((d[0].location.line, d[0].location.column), (5, 5));
        assert!(
            d[0].help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `environment`?"),
            "{:?}",
            d[0].help
        );
        assert_eq!(
            d[1].message,
            "unknown key `workdir` in a step: GitHub refuses the workflow"
        );
        assert_eq!((d[1].location.line, d[1].location.column), (8, 9));
    }

    #[test]
    fn top_level_and_caller_job_keys_are_checked() {
        let d = findings(
            "on: push\npermision: {}\njobs:\n  call:\n    uses: ./.github/workflows/d.yml\n    runs-on: ubuntu-latest\n    secrets: inherit\n",
        );
        let got: Vec<(&str, usize)> = d
            .iter()
            .map(|d| (d.message.as_str(), d.location.line))
            .collect();
        assert_eq!(
            got,
            [
                ("unknown key `permision` in a workflow: GitHub refuses the workflow", 2),
                (
                    "unknown key `runs-on` in a job that calls a reusable workflow (`uses:`): GitHub refuses the workflow",
                    6
                ),
            ]
        );
        assert!(d[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `permissions`?"));
    }

    #[test]
    fn a_workflow_with_only_known_keys_has_no_finding() {
        let d = findings(
            "name: ci\non:\n  push:\n    branches: [main]\nconcurrency: {group: x}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    timeout-minutes: 5\n    steps:\n      - id: a\n        uses: actions/checkout@v4\n        with: {fetch-depth: 0}\n      - run: make\n        shell: bash\n        working-directory: x\n",
        );
        assert!(d.is_empty(), "{d:#?}");
    }
}
