//! Views over `github_actions_models::workflow` that the checks share: jobs and steps with
//! what is in scope for them (env, secrets), the triggers as routes a run can take, and
//! the concurrency and permissions that apply to a job.

use super::source::Source;
use github_actions_models::common::expr::{ExplicitExpr, LoE};
use github_actions_models::common::{Env, If, Permissions};
use github_actions_models::workflow::event::{BranchFilters, OptionalBody, TagFilters};
use github_actions_models::workflow::job::{DeploymentEnvironment, Step};
use github_actions_models::workflow::{Concurrency, Job, Workflow};

pub struct JobRef<'a> {
    pub id: &'a str,
    pub name: Option<String>,
    /// `environment:` as written (an expression stays an expression).
    pub environment: Option<String>,
    pub condition: Option<String>,
    pub needs: Vec<String>,
    pub concurrency: Option<&'a Concurrency>,
    pub permissions: Option<&'a Permissions>,
    pub env: Vec<(String, String)>,
    /// A call of a reusable workflow (`uses:` at job level), and the secrets it passes.
    pub calls: Option<String>,
    /// The job's steps, read once (none for a reusable-workflow call).
    pub steps: Vec<StepRef>,
    job: &'a Job,
}

pub enum StepKind {
    Run {
        script: String,
        working_directory: Option<String>,
    },
    Uses {
        uses: String,
        with: Vec<(String, String)>,
    },
}

pub struct StepRef {
    pub index: usize,
    pub name: Option<String>,
    pub condition: Option<String>,
    pub env: Vec<(String, String)>,
    pub kind: StepKind,
}

pub fn jobs(wf: &Workflow) -> Vec<JobRef<'_>> {
    wf.jobs
        .iter()
        .map(|(id, job)| match job {
            Job::NormalJob(j) => JobRef {
                id,
                name: j.name.clone(),
                environment: j.environment.as_ref().map(|e| match e {
                    DeploymentEnvironment::Name(n) => n.clone(),
                    DeploymentEnvironment::NameURL { name, .. } => name.clone(),
                }),
                condition: j.r#if.as_ref().map(if_text),
                needs: j.needs.clone(),
                concurrency: j.concurrency.as_ref(),
                permissions: explicit(&j.permissions),
                env: env_pairs(&j.env),
                calls: None,
                steps: steps(&j.steps),
                job,
            },
            Job::ReusableWorkflowCallJob(j) => JobRef {
                id,
                name: j.name.clone(),
                environment: None,
                condition: j.r#if.as_ref().map(if_text),
                needs: j.needs.clone(),
                concurrency: None,
                permissions: explicit(&j.permissions),
                env: Vec::new(),
                calls: Some(j.uses.raw().to_string()),
                steps: Vec::new(),
                job,
            },
        })
        .collect()
}

/// A `permissions:` block that is written (the model's default means "absent").
fn explicit(p: &Permissions) -> Option<&Permissions> {
    use github_actions_models::common::BasePermission;
    match p {
        Permissions::Base(BasePermission::Default) => None,
        p => Some(p),
    }
}

pub fn if_text(i: &If) -> String {
    match i {
        If::Bool(b) => b.to_string(),
        If::Expr(e) => e.clone(),
    }
}

pub fn env_pairs(env: &LoE<Env>) -> Vec<(String, String)> {
    match env {
        LoE::Literal(m) => m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        LoE::Expr(e) => vec![(String::new(), expr_text(e))],
    }
}

fn expr_text(e: &ExplicitExpr) -> String {
    e.as_curly().to_string()
}

fn steps(steps: &[Step]) -> Vec<StepRef> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(index, step)| {
            let (shared, kind) = match step {
                Step::Run(r) => (
                    &r.shared,
                    StepKind::Run {
                        script: r.run.clone(),
                        working_directory: r.working_directory.clone(),
                    },
                ),
                Step::Uses(u) => (
                    &u.shared,
                    StepKind::Uses {
                        uses: u.uses.raw().to_string(),
                        with: env_pairs(&u.with),
                    },
                ),
                _ => return None,
            };
            Some(StepRef {
                index,
                name: shared.name.clone(),
                condition: shared.r#if.as_ref().map(if_text),
                env: env_pairs(&shared.env),
                kind,
            })
        })
        .collect()
}

/// The name of the first `secrets.NAME` in `text`.
pub fn secret_in(text: &str) -> Option<String> {
    secrets_in(text).into_iter().next()
}

/// Every `secrets.NAME` in `text`, in order.
pub fn secrets_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("secrets.") {
        let before_ok = rest[..i]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'));
        let after = &rest[i + 8..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if before_ok && !name.is_empty() && in_expression(text, text.len() - rest.len() + i) {
            out.push(name.clone());
        }
        rest = &after[name.len()..];
    }
    out
}

/// Whether byte `at` of `text` is inside `${{ … }}` (`$ {{ secrets.X }}` is plain text).
fn in_expression(text: &str, at: usize) -> bool {
    let open = text[..at].rfind("${{");
    let close = text[..at].rfind("}}");
    match (open, close) {
        (Some(o), Some(c)) => o > c,
        (Some(_), None) => true,
        _ => false,
    }
}

impl StepRef {
    /// env in scope for the step: the workflow's, the job's, the step's (later wins).
    pub fn env_in_scope(&self, job: &JobRef, src: &Source) -> Vec<(String, String)> {
        let mut all = env_pairs(&src.workflow.env);
        all.extend(job.env.iter().cloned());
        all.extend(self.env.iter().cloned());
        all.reverse();
        all
    }

    /// The secret behind env var `var` for this step (an inline `VAR=…` assignment first).
    pub fn secret_named_for(
        &self,
        job: &JobRef,
        src: &Source,
        var: &str,
        assignments: &[String],
    ) -> Option<String> {
        let inline = assignments
            .iter()
            .find_map(|a| a.strip_prefix(&format!("{var}=")).and_then(secret_in));
        inline.or_else(|| {
            self.env_in_scope(job, src)
                .iter()
                .find(|(k, _)| k == var)
                .and_then(|(_, v)| secret_in(v))
        })
    }

    /// Secrets the step itself names (env, with, script).
    pub fn secrets_referenced(&self) -> Vec<String> {
        let mut text: String = self.env.iter().map(|(_, v)| format!("{v}\n")).collect();
        match &self.kind {
            StepKind::Run { script, .. } => text.push_str(script),
            StepKind::Uses { with, .. } => with.iter().for_each(|(_, v)| {
                text.push_str(v);
                text.push('\n')
            }),
        }
        secrets_in(&text)
    }
}

impl JobRef<'_> {
    /// Variables that hold a secret in this job: `env:` at any level mapped from
    /// `secrets.X`, and those a step writes to `$GITHUB_ENV` from such a variable or a
    /// secret (`echo "HOOK=$HOOK_MAIN" >> "$GITHUB_ENV"`). (name, secret).
    pub fn secret_vars(&self, src: &Source) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = env_pairs(&src.workflow.env)
            .into_iter()
            .chain(self.env.iter().cloned())
            .filter_map(|(k, v)| secret_in(&v).map(|s| (k, s)))
            .collect();
        static WRITE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r#"echo\s+["']?([A-Za-z_][A-Za-z0-9_]*)=([^"'\n>]*)["']?\s*>>\s*"?\$\{?GITHUB_ENV"#,
            )
            .expect("static regex")
        });
        for step in &self.steps {
            let StepKind::Run { script, .. } = &step.kind else {
                continue;
            };
            let step_secrets: Vec<(String, String)> = step
                .env
                .iter()
                .filter_map(|(k, v)| secret_in(v).map(|s| (k.clone(), s)))
                .chain(out.iter().cloned())
                .collect();
            for c in WRITE.captures_iter(script) {
                let value = c[2].trim();
                let var = value
                    .trim_start_matches('$')
                    .trim_start_matches('{')
                    .trim_end_matches('}');
                let secret = secret_in(value).or_else(|| {
                    step_secrets
                        .iter()
                        .find(|(k, _)| k == var)
                        .map(|(_, s)| s.clone())
                });
                if let Some(secret) = secret {
                    out.push((c[1].to_string(), secret));
                }
            }
        }
        out
    }

    /// Secrets any step of the job can reach or names: workflow env, job env, each step.
    pub fn secrets(&self, src: &Source) -> Vec<String> {
        let mut out: Vec<String> = env_pairs(&src.workflow.env)
            .iter()
            .chain(self.env.iter())
            .flat_map(|(_, v)| secrets_in(v))
            .collect();
        for s in &self.steps {
            out.extend(s.secrets_referenced());
        }
        if let Job::ReusableWorkflowCallJob(j) = self.job {
            if j.secrets.is_some() {
                out.push("(passed to the called workflow)".into());
            }
        }
        out.retain(|s| s != "GITHUB_TOKEN");
        out.sort();
        out.dedup();
        out
    }

    /// `cancel-in-progress: true` (a literal; an expression may be true).
    pub fn cancels(c: &Concurrency) -> bool {
        match c {
            Concurrency::Bare(_) => false,
            Concurrency::Rich {
                cancel_in_progress, ..
            } => match cancel_in_progress {
                LoE::Literal(b) => *b,
                LoE::Expr(_) => true,
            },
        }
    }
}

/// The ways a run of the workflow can start.
#[derive(Debug, Default)]
pub struct Triggers {
    /// Branch pushes: None = none; Some(filters) with `ignore` = every branch but those.
    pub push_branches: Option<Filter>,
    pub push_tags: bool,
    pub pull_request: bool,
    pub pull_request_target: bool,
    pub dispatch: bool,
    /// `workflow_run`: the branches it is limited to (None: any branch).
    pub workflow_run: Option<Filter>,
    pub call: bool,
    pub schedule: bool,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub patterns: Vec<String>,
    pub ignore: bool,
}

impl Filter {
    fn any() -> Self {
        Filter {
            patterns: Vec::new(),
            ignore: true,
        }
    }

    fn of(f: &Option<BranchFilters>) -> Self {
        match f {
            Some(BranchFilters::Branches(b)) => Filter {
                patterns: b.clone(),
                ignore: false,
            },
            Some(BranchFilters::BranchesIgnore(b)) => Filter {
                patterns: b.clone(),
                ignore: true,
            },
            None => Filter::any(),
        }
    }

    /// Whether a branch named `name` passes (glob `*`, `**` as GitHub reads them).
    pub fn admits(&self, name: &str) -> bool {
        let hit = self.patterns.iter().any(|p| glob(p, name));
        if self.ignore {
            !hit
        } else {
            hit
        }
    }

    /// Whether some branch not named by any pattern passes (a feature branch).
    pub fn admits_any_branch(&self) -> bool {
        self.admits(super::condition::ANY_BRANCH)
    }
}

fn glob(pattern: &str, name: &str) -> bool {
    let p = pattern.trim_start_matches('!');
    let re = format!(
        "^{}$",
        regex::escape(p)
            .replace(r"\*\*", ".*")
            .replace(r"\*", "[^/]*")
            .replace(r"\?", ".")
    );
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(name))
}

impl Triggers {
    pub fn of(wf: &Workflow) -> Self {
        let e = &wf.on.events;
        let mut t = Triggers::default();
        match &e.push {
            OptionalBody::Missing => {}
            OptionalBody::Default => {
                t.push_branches = Some(Filter::any());
                t.push_tags = true;
            }
            OptionalBody::Body(p) => {
                let tags = p.tag_filters.is_some();
                match (&p.branch_filters, tags) {
                    // `push: tags: […]` alone runs on no branch push.
                    (None, true) => {}
                    (b, _) => t.push_branches = Some(Filter::of(b)),
                }
                t.push_tags = tags
                    && !matches!(p.tag_filters, Some(TagFilters::TagsIgnore(ref v)) if v.iter().any(|x| x == "*" || x == "**"))
                    || (!tags && p.branch_filters.is_none());
            }
        }
        t.pull_request = e.pull_request.is_present();
        t.pull_request_target = e.pull_request_target.is_present();
        t.dispatch = e.workflow_dispatch.is_present();
        t.workflow_run = match &e.workflow_run {
            OptionalBody::Missing => None,
            OptionalBody::Default => Some(Filter::any()),
            OptionalBody::Body(r) => Some(Filter::of(&r.branch_filters)),
        };
        t.call = e.workflow_call.is_present();
        t.schedule = e.schedule.is_present();
        t
    }

    /// Only another workflow's `uses:` starts it (a reusable workflow).
    pub fn only_called(&self) -> bool {
        self.call
            && self.push_branches.is_none()
            && !self.push_tags
            && !self.pull_request
            && !self.pull_request_target
            && !self.dispatch
            && self.workflow_run.is_none()
            && !self.schedule
    }

    /// Only tag pushes (and perhaps a manual run) start it.
    pub fn only_tags(&self) -> bool {
        self.push_tags
            && self.push_branches.is_none()
            && !self.pull_request
            && !self.pull_request_target
            && self.workflow_run.is_none()
    }

    /// The branches pushes are limited to, when only pushes start it.
    pub fn only_branches(&self) -> Option<Vec<String>> {
        let f = self.push_branches.as_ref()?;
        if f.ignore
            || self.pull_request
            || self.dispatch
            || self.workflow_run.is_some()
            || self.push_tags
        {
            return None;
        }
        Some(f.patterns.clone())
    }

    /// The branches a push deploys from that count as the integration branch: any branch
    /// first (the widest claim), then `main`, `master`, `trunk`; those the filter admits.
    pub fn integration_branches(&self) -> Vec<&'static str> {
        let Some(f) = self.push_branches.as_ref() else {
            return Vec::new();
        };
        [super::condition::ANY_BRANCH, "main", "master", "trunk"]
            .into_iter()
            .filter(|b| f.admits(b))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_only_inside_expressions() {
        assert_eq!(
            secrets_in("${{ secrets.A }} and $ {{ secrets.B }}"),
            vec!["A"]
        );
        assert_eq!(
            secrets_in("Bearer ${{ secrets.COOLIFY_TOKEN }}'"),
            vec!["COOLIFY_TOKEN"]
        );
        assert_eq!(secrets_in("${{ github.secrets.x }}"), Vec::<String>::new());
    }

    #[test]
    fn branch_globs() {
        let f = Filter {
            patterns: vec!["release/**".into(), "main".into()],
            ignore: false,
        };
        assert!(f.admits("main") && f.admits("release/1.2") && !f.admits("feature"));
        assert!(!f.admits_any_branch());
        assert!(Filter::any().admits_any_branch());
    }
}
