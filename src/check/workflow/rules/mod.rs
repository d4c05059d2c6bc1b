//! The workflow rules, each a function of one [`Ctx`]: the file's model, its deploys, its
//! triggers and the stage-gate policy that applies.

pub mod concurrency;
pub mod gating;
pub mod permissions;
pub mod scripts;
pub mod supply;
pub mod verify;

use super::condition::{self, Run};
use super::deploys::{Deploy, Found};
use super::model::{self, JobRef, Triggers};
use super::source::Source;
use super::Policy;

pub struct Ctx<'a> {
    pub src: &'a Source<'a>,
    pub jobs: Vec<JobRef<'a>>,
    pub triggers: Triggers,
    pub found: Found,
    pub policy: &'a Policy,
}

impl<'a> Ctx<'a> {
    pub fn new(src: &'a Source<'a>, policy: &'a Policy) -> Self {
        let jobs = model::jobs(&src.workflow);
        let triggers = Triggers::of(&src.workflow);
        let found = super::deploys::find(src, policy, &jobs, &triggers);
        Ctx {
            src,
            jobs,
            triggers,
            found,
            policy,
        }
    }

    pub fn job(&self, id: &str) -> Option<&JobRef<'a>> {
        self.jobs.iter().find(|j| j.id == id)
    }

    /// Whether the deploy's step can run in `run`: its `if:`, its job's, and those of the
    /// jobs its job needs (a skipped job skips the jobs that need it).
    pub fn may_run(&self, d: &Deploy, run: &Run) -> bool {
        let step_if = self
            .job(&d.job)
            .and_then(|j| j.steps.iter().find(|s| s.index == d.step))
            .and_then(|s| s.condition.as_deref());
        condition::may_run(step_if, run) && self.job_may_run(&d.job, run, 0)
    }

    fn job_may_run(&self, id: &str, run: &Run, depth: usize) -> bool {
        let Some(job) = self.job(id) else { return true };
        if !condition::may_run(job.condition.as_deref(), run) {
            return false;
        }
        // `always()` runs even when what it needs was skipped.
        let always = job
            .condition
            .as_deref()
            .is_some_and(|c| c.contains("always()"));
        always
            || depth > 32
            || job
                .needs
                .iter()
                .all(|n| self.job_may_run(n, run, depth + 1))
    }

    /// Jobs `id` needs, directly or through others.
    pub fn needed_by(&self, id: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let mut todo = vec![id.to_string()];
        while let Some(j) = todo.pop() {
            if let Some(job) = self.job(&j) {
                for n in &job.needs {
                    if !out.contains(&n.as_str()) {
                        if let Some(nj) = self.job(n) {
                            out.push(nj.id);
                            todo.push(n.clone());
                        }
                    }
                }
            }
        }
        out
    }
}
