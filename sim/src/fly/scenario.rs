//! What a Fly scenario file may say: apps, their machines, and the behaviour knobs (start
//! time, checks delay, images that fail, restart loops, leases already held).
//!
//! Knobs resolve machine > app > scenario > built-in default.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// The one accepted token (with either `Bearer` or `FlyV1`); any non-empty token when absent.
    pub token: Option<String>,
    /// Organisations the token belongs to: apps of any other organisation answer 403 (as
    /// Fly answers for an app name held elsewhere: fly-go `flaps/flaps_apps.go`
    /// `AppNameAvailable`), and no app can be created or listed there. Every organisation
    /// when absent.
    pub orgs: Option<Vec<String>>,
    /// App deletes allowed per minute before 429 (Fly documents 100).
    pub app_deletes_per_minute: Option<usize>,
    pub apps: Vec<AppSpec>,
    /// Time a machine takes to start (ms). Default 20.
    pub start_ms: Option<u64>,
    /// Time after starting until checks pass (ms); `null` = never. Default 0.
    #[serde(deserialize_with = "double_option")]
    pub checks_pass_after_ms: Option<Option<u64>>,
    /// Glob (`*`) on the image: updating a machine to a matching image makes it `failed`.
    pub fail_on_image: Option<String>,
    /// Machines exit and restart over and over once started; their checks never pass.
    pub restart_loop: Option<bool>,
    /// Exit code of a job machine (`auto_destroy: true`, e.g. a release command). Default 0.
    pub job_exit_code: Option<i64>,
    /// Time a job machine runs before it exits (ms). Default 50.
    pub job_ms: Option<u64>,
    /// The image registry behind `image_ref`: which digest a tag points at, and when tags move.
    pub registry: RegistrySpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrySpec {
    /// `registry/repository:tag` → `sha256:…`.
    pub tags: BTreeMap<String, String>,
    /// After this many resolutions of a tag (machine creates and updates), every tag points
    /// at new bytes: somebody pushed the same tags again mid-deploy.
    pub move_tags_after: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppSpec {
    pub name: String,
    /// Organisation slug. Default `personal`.
    pub org: Option<String>,
    /// 6PN network. Default `default`.
    pub network: Option<String>,
    /// Secrets the app already has (name → value); their version is 1 when any are given.
    pub secrets: BTreeMap<String, String>,
    /// IP addresses already assigned.
    pub ips: Vec<IpSpec>,
    /// Image of the seeded machines. Default `registry.fly.io/<name>:v1`.
    pub image: Option<String>,
    pub machines: Vec<MachineSpec>,
    pub start_ms: Option<u64>,
    #[serde(deserialize_with = "double_option")]
    pub checks_pass_after_ms: Option<Option<u64>>,
    pub fail_on_image: Option<String>,
    pub restart_loop: Option<bool>,
    pub job_exit_code: Option<i64>,
    pub job_ms: Option<u64>,
    /// Volumes that exist before the run (unattached unless a machine mounts them).
    pub volumes: Vec<VolumeSpec>,
}

/// An IP address already assigned to an app.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IpSpec {
    #[serde(rename = "type")]
    pub kind: IpKind,
    /// The address; one is made up when absent.
    pub ip: Option<String>,
    /// Default `global`.
    pub region: Option<String>,
    pub service_name: Option<String>,
}

/// The address kinds a scenario may seed (any other `type` is a parse error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpKind {
    #[default]
    V6,
    V4,
    SharedV4,
    PrivateV6,
}

impl IpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IpKind::V6 => "v6",
            IpKind::V4 => "v4",
            IpKind::SharedV4 => "shared_v4",
            IpKind::PrivateV6 => "private_v6",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VolumeSpec {
    pub id: Option<String>,
    pub name: String,
    /// Default `iad`.
    pub region: Option<String>,
    /// Default 1.
    pub size_gb: Option<u64>,
}

/// One machine, or `count` alike machines.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MachineSpec {
    /// Fixed id (only with `count` 1); generated otherwise.
    pub id: Option<String>,
    pub name: Option<String>,
    /// Default `iad`.
    pub region: Option<String>,
    pub image: Option<String>,
    /// `config.metadata.fly_process_group`. Default `app`.
    pub process_group: Option<String>,
    /// Default 1.
    pub count: Option<u32>,
    /// `started` (default), `stopped`, `suspended`, `failed`, `destroyed`.
    pub state: Option<String>,
    pub env: BTreeMap<String, String>,
    /// Extra `config.metadata` (e.g. a deployer's marker, or its absence on a hand-made app).
    pub metadata: BTreeMap<String, String>,
    /// Give the machine an HTTP service check (default true).
    pub checks: Option<bool>,
    /// Name of a volume each of these machines mounts at `/data` (one volume per machine,
    /// created with it), as machines of a fly.toml with `[mounts]` have.
    pub volume: Option<String>,
    /// A lease already held by this owner when the simulator starts.
    pub leased_by: Option<String>,
    /// How long that lease lasts (ms). Default one hour.
    pub leased_for_ms: Option<u64>,
    pub start_ms: Option<u64>,
    #[serde(deserialize_with = "double_option")]
    pub checks_pass_after_ms: Option<Option<u64>>,
    pub fail_on_image: Option<String>,
    pub restart_loop: Option<bool>,
}

/// Behaviour of one machine, resolved from the scenario layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    pub start_ms: u64,
    /// `None` = checks never pass.
    pub checks_pass_after_ms: Option<u64>,
    pub fail_on_image: Option<String>,
    pub restart_loop: bool,
    pub job_exit_code: i64,
    pub job_ms: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            start_ms: 20,
            checks_pass_after_ms: Some(0),
            fail_on_image: None,
            restart_loop: false,
            job_exit_code: 0,
            job_ms: 50,
        }
    }
}

/// One layer of knobs; a later layer overrides the fields it sets.
struct Layer<'a> {
    start_ms: Option<u64>,
    checks_pass_after_ms: Option<Option<u64>>,
    fail_on_image: &'a Option<String>,
    restart_loop: Option<bool>,
    job_exit_code: Option<i64>,
    job_ms: Option<u64>,
}

impl Knobs {
    fn apply(mut self, l: Layer<'_>) -> Self {
        if let Some(v) = l.start_ms {
            self.start_ms = v;
        }
        if let Some(v) = l.checks_pass_after_ms {
            self.checks_pass_after_ms = v;
        }
        if let Some(v) = l.fail_on_image {
            self.fail_on_image = Some(v.clone());
        }
        if let Some(v) = l.restart_loop {
            self.restart_loop = v;
        }
        if let Some(v) = l.job_exit_code {
            self.job_exit_code = v;
        }
        if let Some(v) = l.job_ms {
            self.job_ms = v;
        }
        self
    }

    /// The knobs of an app (scenario, then app layer).
    pub fn for_app(s: &Scenario, app: Option<&AppSpec>) -> Knobs {
        let k = Knobs::default().apply(Layer {
            start_ms: s.start_ms,
            checks_pass_after_ms: s.checks_pass_after_ms,
            fail_on_image: &s.fail_on_image,
            restart_loop: s.restart_loop,
            job_exit_code: s.job_exit_code,
            job_ms: s.job_ms,
        });
        match app {
            Some(a) => k.apply(Layer {
                start_ms: a.start_ms,
                checks_pass_after_ms: a.checks_pass_after_ms,
                fail_on_image: &a.fail_on_image,
                restart_loop: a.restart_loop,
                job_exit_code: a.job_exit_code,
                job_ms: a.job_ms,
            }),
            None => k,
        }
    }

    pub fn for_machine(self, m: &MachineSpec) -> Knobs {
        self.apply(Layer {
            start_ms: m.start_ms,
            checks_pass_after_ms: m.checks_pass_after_ms,
            fail_on_image: &m.fail_on_image,
            restart_loop: m.restart_loop,
            job_exit_code: None,
            job_ms: None,
        })
    }
}

/// Missing → `None`; `null` → `Some(None)`; a value → `Some(Some(v))`.
fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_resolve_machine_over_app_over_scenario() {
        let s: Scenario = serde_yaml::from_str(
            "start_ms: 5\nchecks_pass_after_ms: 7\napps:\n- name: a\n  checks_pass_after_ms: null\n  machines:\n  - start_ms: 9\n  - restart_loop: true\n",
        )
        .expect("valid scenario");
        let app = Knobs::for_app(&s, s.apps.first());
        assert_eq!(app.start_ms, 5);
        assert_eq!(app.checks_pass_after_ms, None);
        let m0 = app.clone().for_machine(&s.apps[0].machines[0]);
        assert_eq!((m0.start_ms, m0.restart_loop), (9, false));
        let m1 = app.for_machine(&s.apps[0].machines[1]);
        assert_eq!((m1.start_ms, m1.restart_loop), (5, true));
    }

    #[test]
    fn typos_are_rejected() {
        let err =
            serde_yaml::from_str::<Scenario>("apps:\n- name: a\n  machnes: []\n").unwrap_err();
        assert!(err.to_string().contains("machnes"), "{err}");
    }
}
