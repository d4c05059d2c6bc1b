//! The simulated Coolify instance: applications, the deployment queue and its clock.
//!
//! A deployment's life is fixed when it is queued (queued until `starts`, in progress until
//! `ends`, then its outcome), so reads never race a background task; effects on the
//! application (the image or commit now running) are applied lazily by [`Sim::settle`].
//! Deployments of one application run one after another, like Coolify's per-server queue.

use super::previews::{generate_fqdn, Preview};
use super::template::application_template;
use super::{AppSeed, Outcome, Scenario, TokenSeed};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    InProgress,
    Finished,
    Failed,
    CancelledByUser,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::InProgress => "in_progress",
            Status::Finished => "finished",
            Status::Failed => "failed",
            Status::CancelledByUser => "cancelled-by-user",
        }
    }
    pub fn is_active(self) -> bool {
        matches!(self, Status::Queued | Status::InProgress)
    }
}

impl From<Outcome> for Status {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Finished => Status::Finished,
            Outcome::Failed => Status::Failed,
            Outcome::CancelledByUser => Status::CancelledByUser,
        }
    }
}

pub struct App {
    pub seed: AppSeed,
    pub id: u64,
    /// The `Application` object, field for field; PATCH writes here.
    pub fields: Map<String, Value>,
    /// Deploys queued so far (rollbacks excluded): indexes `seed.outcomes`.
    pub deploys: usize,
    /// One per pull request, in creation order.
    pub previews: Vec<Preview>,
}

impl App {
    pub fn uuid(&self) -> &str {
        &self.seed.uuid
    }
    pub fn name(&self) -> &str {
        &self.seed.name
    }
    fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }
    pub fn is_dockerimage(&self) -> bool {
        self.field("build_pack") == Some("dockerimage")
    }
    pub fn preview(&self, pr: i64) -> Option<&Preview> {
        self.previews.iter().find(|p| p.pull_request_id == pr)
    }
    /// A new preview for `pr`, its fqdn generated as Coolify does.
    pub fn add_preview(&mut self, pr: i64, docker_tag: Option<String>) -> &mut Preview {
        let mut p = Preview::new(pr, docker_tag);
        p.fqdn = generate_fqdn(
            self.field("fqdn"),
            self.field("preview_url_template")
                .unwrap_or("{{pr_id}}.{{domain}}"),
            pr,
        );
        self.previews.push(p);
        let last = self.previews.len() - 1;
        &mut self.previews[last]
    }
    /// What a deploy started now would run: the image tag for image apps, else the commit.
    fn current_ref(&self) -> Option<String> {
        if self.is_dockerimage() {
            self.field("docker_registry_image_tag").map(str::to_string)
        } else {
            self.field("git_commit_sha").map(str::to_string)
        }
    }
}

pub struct Deployment {
    pub id: u64,
    pub app: usize,
    pub uuid: String,
    pub pull_request_id: i64,
    pub force_rebuild: bool,
    pub is_webhook: bool,
    pub is_api: bool,
    pub rollback: bool,
    /// `commit` while queued (`HEAD` for API deploys, the target for rollbacks).
    pub queued_commit: String,
    /// `commit` once the build has resolved it.
    pub resolved_commit: String,
    /// The preview `docker_tag` given with a pull request, as the queue row stores it.
    pub docker_tag: Option<String>,
    /// What runs after success: image tag (image apps) or commit.
    pub deployed_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created: Instant,
    pub starts: Instant,
    pub ends: Instant,
    pub outcome: Outcome,
    pub cancelled: Option<Instant>,
    pub log_lines: Vec<String>,
    pub settled: bool,
}

impl Deployment {
    pub fn status(&self, now: Instant) -> Status {
        if self.cancelled.is_some() {
            Status::CancelledByUser
        } else if now < self.starts {
            Status::Queued
        } else if now < self.ends {
            Status::InProgress
        } else {
            self.outcome.into()
        }
    }

    pub fn commit(&self, now: Instant) -> &str {
        if self.status(now) == Status::Queued {
            &self.queued_commit
        } else {
            &self.resolved_commit
        }
    }

    fn updated_at(&self, now: Instant) -> DateTime<Utc> {
        let last_change = match self.cancelled {
            Some(at) => at,
            None if now < self.starts => self.created,
            None if now < self.ends => self.starts,
            None => self.ends,
        };
        let since = last_change.saturating_duration_since(self.created);
        self.created_at + chrono::Duration::from_std(since).unwrap_or_default()
    }

    /// Coolify stores the log as a JSON string of entries; it grows as the build runs.
    fn logs(&self, now: Instant) -> String {
        let status = self.status(now);
        let shown = match status {
            Status::Queued => 0,
            Status::InProgress => self.log_lines.len().div_ceil(2),
            _ => self.log_lines.len(),
        };
        let mut lines: Vec<String> = self.log_lines[..shown].to_vec();
        match status {
            Status::Finished => lines.push("Deployment finished.".into()),
            Status::Failed => {
                lines.push("Oops something is not okay, are you okay? 😢".into());
                lines
                    .push("Deployment failed. Removing the new version of your application.".into())
            }
            Status::CancelledByUser => lines.push("Deployment cancelled by user.".into()),
            _ => {}
        }
        let entries: Vec<Value> = lines
            .into_iter()
            .enumerate()
            .map(|(i, output)| {
                json!({
                    "command": null,
                    "output": output,
                    "type": "stdout",
                    "timestamp": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    "hidden": false,
                    "batch": 1,
                    "order": i + 1,
                })
            })
            .collect();
        Value::Array(entries).to_string()
    }
}

pub struct Sim {
    pub tokens: Vec<TokenSeed>,
    pub apps: Vec<App>,
    pub deployments: Vec<Deployment>,
    pub queue_capacity: Option<usize>,
    pub queue_retry_after: u64,
    pub version: String,
    next_id: u64,
}

/// Why a deploy of one application was not queued.
pub enum Refusal {
    /// Another deployment of the same commit is queued or running.
    AlreadyQueued,
    QueueFull,
}

impl Sim {
    pub fn new(scenario: Scenario) -> Self {
        let tokens = if scenario.tokens.is_empty() {
            vec![TokenSeed {
                token: super::DEFAULT_TOKEN.into(),
                abilities: vec!["root".into()],
                team_admin: true,
            }]
        } else {
            scenario.tokens
        };
        let seeds = if scenario.applications.is_empty() {
            super::scenario::default_applications()
        } else {
            scenario.applications
        };
        let mut sim = Sim {
            tokens,
            apps: Vec::new(),
            deployments: Vec::new(),
            queue_capacity: scenario.queue_capacity,
            queue_retry_after: scenario.queue_retry_after.unwrap_or(60),
            version: scenario.version.unwrap_or_else(|| "4.3.11".into()),
            next_id: 1,
        };
        for seed in seeds {
            sim.add_app(seed);
        }
        sim
    }

    fn add_app(&mut self, seed: AppSeed) {
        let id = self.apps.len() as u64 + 1;
        let now = Utc::now();
        let mut fields = application_template();
        let set = |f: &mut Map<String, Value>, k: &str, v: Value| {
            f.insert(k.to_string(), v);
        };
        set(&mut fields, "id", json!(id));
        set(&mut fields, "uuid", json!(seed.uuid));
        set(&mut fields, "name", json!(seed.name));
        set(&mut fields, "fqdn", json!(seed.fqdn));
        set(&mut fields, "build_pack", json!(seed.build_pack));
        set(&mut fields, "git_commit_sha", json!(seed.git_commit_sha));
        set(&mut fields, "docker_registry_image_name", json!(seed.image));
        set(
            &mut fields,
            "docker_registry_image_tag",
            json!(seed.image_tag),
        );
        set(&mut fields, "status", json!(seed.status));
        set(&mut fields, "config_hash", json!(format!("{:032x}", id)));
        if let Some(t) = &seed.preview_url_template {
            set(&mut fields, "preview_url_template", json!(t));
        }
        if let Some(settings) = fields.get_mut("settings").and_then(Value::as_object_mut) {
            settings.insert(
                "is_preview_deployments_enabled".into(),
                json!(seed.previews_enabled),
            );
        }
        set(&mut fields, "created_at", json!(now));
        set(&mut fields, "updated_at", json!(now));
        let app_index = self.apps.len();
        let history = seed.history.clone();
        let mut app = App {
            seed,
            id,
            fields,
            deploys: 0,
            previews: Vec::new(),
        };
        let seeded: Vec<(i64, Option<String>, Option<String>)> = app
            .seed
            .pull_requests
            .iter()
            .map(|pr| (*pr, None, None))
            .chain(
                app.seed
                    .previews
                    .iter()
                    .map(|p| (p.pr, p.docker_tag.clone(), p.fqdn.clone())),
            )
            .collect();
        for (pr, tag, fqdn) in seeded {
            let p = app.add_preview(pr, tag);
            if fqdn.is_some() {
                p.fqdn = fqdn;
            }
        }
        self.apps.push(app);
        // Seeded history: finished long ago, oldest first, so the newest is listed first.
        let count = history.len();
        for (i, past) in history.into_iter().enumerate() {
            let age = Duration::from_secs(600 * (count - i) as u64);
            let now = Instant::now();
            let created = now.checked_sub(age).unwrap_or(now);
            let id = self.take_id();
            self.deployments.push(Deployment {
                id,
                app: app_index,
                uuid: new_uuid(),
                pull_request_id: 0,
                force_rebuild: false,
                is_webhook: false,
                is_api: true,
                rollback: past.rollback,
                queued_commit: past.commit.clone(),
                resolved_commit: past.commit.clone(),
                docker_tag: None,
                deployed_ref: past.image_tag.clone().or(Some(past.commit)),
                created_at: Utc::now() - chrono::Duration::from_std(age).unwrap_or_default(),
                created,
                starts: created,
                ends: created,
                outcome: past.status,
                cancelled: None,
                log_lines: Vec::new(),
                settled: true,
            });
        }
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn app_index(&self, uuid: &str) -> Option<usize> {
        self.apps.iter().position(|a| a.uuid() == uuid)
    }

    pub fn token(&self, value: &str) -> Option<&TokenSeed> {
        self.tokens.iter().find(|t| t.token == value)
    }

    /// Apply what finished deployments did to their applications.
    pub fn settle(&mut self, now: Instant) {
        for d in self.deployments.iter_mut() {
            if d.settled || d.status(now).is_active() {
                continue;
            }
            d.settled = true;
            if d.status(now) != Status::Finished {
                continue;
            }
            let app = &mut self.apps[d.app];
            if d.pull_request_id > 0 {
                // A preview deployment changes the preview's container, not the application.
                let image = app.field("docker_registry_image_name").map(str::to_string);
                let dockerimage = app.is_dockerimage();
                if let Some(p) = app
                    .previews
                    .iter_mut()
                    .find(|p| p.pull_request_id == d.pull_request_id)
                {
                    p.status = "running:healthy".into();
                    p.running = match (dockerimage, &image, &d.deployed_ref) {
                        (true, Some(name), Some(tag)) => Some(format!("{name}:{tag}")),
                        (_, _, r) => r.clone(),
                    };
                }
                continue;
            }
            let key = if app.is_dockerimage() {
                "docker_registry_image_tag"
            } else {
                "git_commit_sha"
            };
            if let Some(r) = &d.deployed_ref {
                app.fields.insert(key.into(), json!(r));
            }
            app.fields.insert("status".into(), json!("running:healthy"));
            app.fields.insert("updated_at".into(), json!(Utc::now()));
        }
    }

    fn active(&self, now: Instant) -> usize {
        self.deployments
            .iter()
            .filter(|d| d.status(now).is_active())
            .count()
    }

    /// Queue a deployment of one application, as `queue_application_deployment` does.
    pub fn queue(
        &mut self,
        app: usize,
        force: bool,
        pull_request_id: i64,
        docker_tag: Option<String>,
        rollback_to: Option<String>,
        now: Instant,
    ) -> Result<String, Refusal> {
        let rollback = rollback_to.is_some();
        let queued_commit = rollback_to.clone().unwrap_or_else(|| "HEAD".into());
        // queue_application_deployment: same application, commit, pull request and image tag.
        let duplicate = self.deployments.iter().any(|d| {
            d.app == app
                && d.pull_request_id == pull_request_id
                && d.docker_tag == docker_tag
                && d.status(now).is_active()
                && d.commit(now) == queued_commit
        });
        if duplicate && !force && !rollback {
            return Err(Refusal::AlreadyQueued);
        }
        if self
            .queue_capacity
            .is_some_and(|cap| self.active(now) >= cap)
        {
            return Err(Refusal::QueueFull);
        }
        let seed = self.apps[app].seed.clone();
        let outcome = if rollback {
            seed.rollback_outcome
        } else {
            let n = self.apps[app].deploys;
            self.apps[app].deploys += 1;
            seed.outcomes
                .get(n)
                .or(seed.outcomes.last())
                .copied()
                .unwrap_or_default()
        };
        // One build at a time per application: wait for the previous one to end.
        let previous_end = self
            .deployments
            .iter()
            .filter(|d| d.app == app && d.cancelled.is_none())
            .map(|d| d.ends)
            .max()
            .unwrap_or(now);
        let starts = (now + Duration::from_millis(seed.queue_ms)).max(previous_end);
        let ends = starts + Duration::from_millis(seed.build_ms);
        let resolved_commit = match &rollback_to {
            Some(c) => c.clone(),
            None => seed_commit(&self.apps[app]),
        };
        let deployed_ref = match (&rollback_to, pull_request_id > 0) {
            (Some(r), _) => Some(r.clone()),
            // A preview runs its own tag (image apps) or the pull request's commit.
            (None, true) if self.apps[app].is_dockerimage() => docker_tag.clone(),
            (None, true) => Some(resolved_commit.clone()),
            (None, false) => self.apps[app].current_ref(),
        };
        let log_lines = if seed.log_lines.is_empty() {
            let preview = (pull_request_id > 0).then_some((pull_request_id, docker_tag.as_deref()));
            default_log(&self.apps[app], outcome, preview)
        } else {
            seed.log_lines.clone()
        };
        let uuid = new_uuid();
        let id = self.take_id();
        self.deployments.push(Deployment {
            id,
            app,
            uuid: uuid.clone(),
            pull_request_id,
            force_rebuild: force,
            is_webhook: false,
            is_api: true,
            rollback,
            queued_commit,
            resolved_commit,
            docker_tag,
            deployed_ref,
            created_at: Utc::now(),
            created: now,
            starts,
            ends,
            outcome,
            cancelled: None,
            log_lines,
            settled: false,
        });
        Ok(uuid)
    }

    pub fn deployment(&self, uuid: &str) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.uuid == uuid)
    }

    pub fn cancel(&mut self, uuid: &str, now: Instant) -> Option<Result<(), Status>> {
        let d = self.deployments.iter_mut().find(|d| d.uuid == uuid)?;
        let status = d.status(now);
        if !status.is_active() {
            return Some(Err(status));
        }
        d.cancelled = Some(now);
        d.settled = true;
        Some(Ok(()))
    }

    /// An `ApplicationDeploymentQueue` row, field for field.
    pub fn deployment_json(&self, d: &Deployment, now: Instant, with_logs: bool) -> Value {
        let app = &self.apps[d.app];
        let status = d.status(now);
        let mut row = json!({
            "id": d.id,
            "application_id": app.id.to_string(),
            "deployment_uuid": d.uuid,
            "pull_request_id": d.pull_request_id,
            "docker_registry_image_tag": d.docker_tag,
            "configuration_hash": app.fields.get("config_hash"),
            "configuration_snapshot": null,
            "configuration_diff": null,
            "force_rebuild": d.force_rebuild,
            "commit": d.commit(now),
            "status": status.as_str(),
            "is_webhook": d.is_webhook,
            "is_api": d.is_api,
            "created_at": d.created_at,
            "updated_at": d.updated_at(now),
            "current_process_id": (status == Status::InProgress).then(|| (4000 + d.id).to_string()),
            "restart_only": false,
            "git_type": null,
            "server_id": 0,
            "application_name": app.name(),
            "server_name": "localhost",
            "deployment_url": format!(
                "/project/sim/environment/production/application/{}/deployment/{}",
                app.uuid(),
                d.uuid
            ),
            "destination_id": "0",
            "only_this_server": false,
            "rollback": d.rollback,
            "commit_message": null,
        });
        if with_logs {
            row["logs"] = json!(d.logs(now));
        }
        row
    }

    /// Images a rollback can go to: seeded ones, then every finished deploy's, newest first.
    pub fn rollback_images(&self, app: usize) -> Value {
        let current = self.apps[app].current_ref();
        let mut tags: Vec<(String, DateTime<Utc>)> = Vec::new();
        let finished = self
            .deployments
            .iter()
            .filter(|d| d.app == app && d.settled && d.outcome == Outcome::Finished)
            .filter(|d| d.cancelled.is_none());
        for d in finished.rev() {
            if let Some(r) = &d.deployed_ref {
                if !tags.iter().any(|(t, _)| t == r) {
                    tags.push((r.clone(), d.created_at));
                }
            }
        }
        for t in &self.apps[app].seed.rollback_images {
            if !tags.iter().any(|(x, _)| x == t) {
                tags.push((t.clone(), Utc::now() - chrono::Duration::days(1)));
            }
        }
        let images: Vec<Value> = tags
            .into_iter()
            .map(|(tag, at)| {
                json!({
                    "tag": tag,
                    "created_at": at.format("%Y-%m-%d %H:%M:%S %z UTC").to_string(),
                    "is_current": current.as_deref() == Some(tag.as_str()),
                })
            })
            .collect();
        json!({ "current": current, "images": images })
    }
}

fn seed_commit(app: &App) -> String {
    app.field("git_commit_sha").unwrap_or("HEAD").to_string()
}

fn default_log(app: &App, outcome: Outcome, preview: Option<(i64, Option<&str>)>) -> Vec<String> {
    let tag = match preview {
        Some((_, tag)) => tag,
        None => app.field("docker_registry_image_tag"),
    };
    let image = match (app.field("docker_registry_image_name"), tag) {
        (Some(name), Some(tag)) => format!("{name}:{tag}"),
        (Some(name), None) => format!("{name}:latest"),
        _ => app.name().to_string(),
    };
    let what = match preview {
        Some((pr, _)) => format!("pull request #{pr} preview of {}", app.name()),
        None => app.name().to_string(),
    };
    let mut lines = vec![
        format!("Starting deployment of {what}."),
        "Preparing container with helper image: ghcr.io/coollabsio/coolify-helper:1.0.8.".into(),
        format!("Pulling latest image ({image}) from the registry."),
        "Rolling update started.".into(),
    ];
    if outcome == Outcome::Failed {
        lines.push("New container is not healthy, rolling back to the old container.".into());
        lines.push("Error: container exited with code 1.".into());
    } else {
        lines.push("New container started.".into());
        lines.push("Removing old containers.".into());
    }
    lines
}

/// A cuid2-like id: 24 lowercase letters and digits, starting with a letter.
pub fn new_uuid() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut s = String::with_capacity(24);
    s.push(CHARS[rng.random_range(0..26)] as char);
    for _ in 1..24 {
        s.push(CHARS[rng.random_range(0..CHARS.len())] as char);
    }
    s
}
