//! Every tag of ten real repositories (`tests/fixtures/tags/`, copied from the shared
//! corpus), classified with the patterns each repository uses.

use super::*;
use std::collections::BTreeMap;
use std::path::Path;

/// The patterns of each repository, tried in order; the first that claims a tag decides.
const REPOS: &[(&str, &[&str])] = &[
    (
        "conventional-changelog__conventional-changelog",
        &["{app}@{version}", "{app}-v{version}", "v{version}"],
    ),
    ("hashicorp__terraform", &["v{version}"]),
    (
        "npm__cli",
        &["{app}-v{version}", "{app}@{version}", "v{version}"],
    ),
    (
        "open-telemetry__opentelemetry-go",
        &["{app}/v{version}", "v{version}"],
    ),
    ("orhun__git-cliff", &["v{version}"]),
    ("rust-lang__rust-analyzer", &["{version}"]),
    ("semantic-release__semantic-release", &["v{version}"]),
    ("sveltejs__svelte", &["{app}@{version}", "v{version}"]),
    ("tokio-rs__tokio", &["{app}-{version}"]),
    ("vuejs__core", &["v{version}"]),
];

pub(crate) fn corpus(repo: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tags")
        .join(format!("{repo}.txt"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Default)]
struct Tally {
    releases: Vec<Release>,
    malformed: Vec<TagError>,
    foreign: Vec<String>,
}

fn classify_repo(repo: &str) -> Tally {
    let patterns: Vec<TagPattern> = REPOS
        .iter()
        .find(|(r, _)| *r == repo)
        .unwrap()
        .1
        .iter()
        .map(|p| TagPattern::new(p, None).unwrap())
        .collect();
    let mut t = Tally::default();
    'tags: for tag in corpus(repo) {
        for p in &patterns {
            match classify(p, &tag) {
                Classified::Release(r) => {
                    t.releases.push(r);
                    continue 'tags;
                }
                Classified::Malformed(e) => {
                    t.malformed.push(e);
                    continue 'tags;
                }
                Classified::Foreign => {}
            }
        }
        t.foreign.push(tag);
    }
    t
}

fn counts(repo: &str) -> (usize, usize, usize) {
    let t = classify_repo(repo);
    (t.releases.len(), t.malformed.len(), t.foreign.len())
}

#[test]
fn every_tag_of_every_repository_is_classified() {
    // (releases, malformed, foreign) per repository; their sum is the corpus size.
    let expected: BTreeMap<&str, (usize, usize, usize)> = [
        (
            "conventional-changelog__conventional-changelog",
            (878, 0, 0),
        ),
        ("hashicorp__terraform", (466, 0, 2)),
        ("npm__cli", (1340, 16, 11)),
        ("open-telemetry__opentelemetry-go", (2051, 1, 0)),
        ("orhun__git-cliff", (128, 0, 0)),
        ("rust-lang__rust-analyzer", (0, 358, 0)),
        ("semantic-release__semantic-release", (455, 0, 1)),
        ("sveltejs__svelte", (1031, 0, 0)),
        ("tokio-rs__tokio", (388, 1, 6)),
        ("vuejs__core", (295, 0, 0)),
    ]
    .into_iter()
    .collect();
    let mut total = 0;
    for (repo, _) in REPOS {
        let c = counts(repo);
        assert_eq!(c, expected[repo], "{repo}");
        assert_eq!(c.0 + c.1 + c.2, corpus(repo).len(), "{repo}");
        total += corpus(repo).len();
    }
    assert_eq!(total, 7428);
}

fn release_of<'a>(t: &'a Tally, tag: &str) -> &'a Release {
    t.releases
        .iter()
        .find(|r| r.tag == tag)
        .unwrap_or_else(|| panic!("{tag} not a release"))
}

#[test]
fn monorepo_tags_carry_their_app() {
    let t = classify_repo("conventional-changelog__conventional-changelog");
    let r = release_of(&t, "@marionebl/conventional-commits-parser@3.0.0");
    assert_eq!(
        r.app.as_deref(),
        Some("@marionebl/conventional-commits-parser")
    );
    let r = release_of(&t, "conventional-changelog-conventionalcommits-v7.0.1");
    assert_eq!(
        r.app.as_deref(),
        Some("conventional-changelog-conventionalcommits")
    );
    let apps: std::collections::BTreeSet<_> =
        t.releases.iter().filter_map(|r| r.app.clone()).collect();
    assert!(apps.len() > 20, "{apps:?}");

    let t = classify_repo("open-telemetry__opentelemetry-go");
    let rc = release_of(&t, "bridge/opentracing/v1.0.0-RC2");
    assert_eq!(rc.app.as_deref(), Some("bridge/opentracing"));
    // Upper-case prerelease identifiers are valid SemVer and sort in ASCII order.
    assert_eq!(version::prerelease_id(&rc.version).as_deref(), Some("RC"));
    assert_eq!(release_of(&t, "v1.0.0").app, None);

    let t = classify_repo("tokio-rs__tokio");
    assert_eq!(
        release_of(&t, "tokio-util-0.7.0").app.as_deref(),
        Some("tokio-util")
    );
    assert_eq!(release_of(&t, "tokio-1.0.0").app.as_deref(), Some("tokio"));

    let t = classify_repo("npm__cli");
    assert_eq!(
        release_of(&t, "@npmcli/arborist-v5.0.0").app.as_deref(),
        Some("@npmcli/arborist")
    );
    assert_eq!(
        release_of(&t, "libnpmexec-v8.1.0").app.as_deref(),
        Some("libnpmexec")
    );
    assert_eq!(
        release_of(&t, "@npmcli/arborist@4.3.1").app.as_deref(),
        Some("@npmcli/arborist")
    );
}

#[test]
fn odd_tags_are_refused_with_the_nearest_valid_tag() {
    let npm = classify_repo("npm__cli");
    let m: Vec<String> = npm.malformed.iter().map(|e| e.to_string()).collect();
    assert!(m.contains(&"tag `v1.0.0rc5` is not SemVer 2.0.0: `rc5` must follow the numbers after `-` (a prerelease) or `+` (build metadata); nearest valid tag: `v1.0.0-rc5`".to_string()));
    assert!(npm
        .malformed
        .iter()
        .any(|e| e.suggestion() == Some("v1.0.1-rcFINAL")));
    assert_eq!(
        npm.foreign,
        [
            "0.1.27",
            "1.0.0rc3",
            "1.0.7",
            "1.1.0-1",
            "1.1.0-alpha-1",
            "1.1.0-alpha-2",
            "1.1.22",
            "1.1.25",
            "ls",
            "rm",
            "rplockfix"
        ]
    );

    let v = TagPattern::new("v{version}", None).unwrap();
    assert_eq!(
        validate(&v, "1.0.0rc3").unwrap_err().suggestion(),
        Some("v1.0.0-rc3")
    );
    assert_eq!(
        validate(&v, "0.7.7").unwrap_err().suggestion(),
        Some("v0.7.7")
    );
    // Tags named `list`, `ls`, `nightly`: refused, and no version is invented for them.
    for word in ["list", "ls", "rm", "nightly"] {
        let e = validate(&v, word).unwrap_err();
        assert!(matches!(e, TagError::NotMatching { .. }), "{e}");
        assert_eq!(e.suggestion(), None, "{word}");
    }

    let otel = classify_repo("open-telemetry__opentelemetry-go");
    assert_eq!(otel.malformed.len(), 1);
    assert_eq!(otel.malformed[0].suggestion(), Some("v0.2.1-1"));

    // rust-analyzer tags releases by date: every one is refused as a date, none repaired.
    let ra = classify_repo("rust-lang__rust-analyzer");
    let dates = ra
        .malformed
        .iter()
        .filter(|e| e.to_string().contains("is a date, not a version"))
        .count();
    assert_eq!(dates, 356);
    assert!(ra.malformed.iter().all(|e| e.suggestion().is_none()));

    let tf = classify_repo("hashicorp__terraform");
    assert_eq!(tf.foreign, ["0.7.7", "list"]);
    // `-alpha20190520`-style and `-dev20190520H16` identifiers are valid SemVer.
    assert!(release_of(&tf, "v0.12.0-dev20190520H16").is_prerelease());

    let tokio = classify_repo("tokio-rs__tokio");
    assert_eq!(tokio.malformed[0].suggestion(), Some("tokio-0.1.10"));
}

/// All releases of one app from a tally, as `Releases` orders them.
fn releases_of(t: &Tally, app: Option<&str>) -> Releases {
    let mut rs: Vec<Release> = t
        .releases
        .iter()
        .filter(|r| app.is_none() || r.app.as_deref() == app || r.app.is_none())
        .cloned()
        .collect();
    rs.sort_by(|a, b| version::precedence(&a.version, &b.version).then(a.tag.cmp(&b.tag)));
    Releases {
        releases: rs,
        malformed: vec![],
    }
}

fn prev(rs: &Releases, t: &Tally, tag: &str) -> Option<String> {
    rs.previous(&release_of(t, tag).version)
        .map(|r| r.tag.clone())
}

#[test]
fn previous_versions_on_interleaved_prerelease_and_stable_lines() {
    let t = classify_repo("vuejs__core");
    let rs = releases_of(&t, None);
    let p = |tag| prev(&rs, &t, tag);
    // The first stable has no stable before it: its range starts at the root.
    assert_eq!(p("v3.0.0"), None);
    assert_eq!(p("v3.0.0-rc.1").as_deref(), Some("v3.0.0-beta.24"));
    // 3.3.0 follows the last 3.2 patch, not the 3.3.0 alphas tagged in between.
    assert_eq!(p("v3.3.0").as_deref(), Some("v3.2.47"));
    assert_eq!(p("v3.3.0-alpha.1").as_deref(), Some("v3.2.47"));
    assert_eq!(p("v3.3.0-alpha.2").as_deref(), Some("v3.3.0-alpha.1"));
    assert_eq!(p("v3.2.47").as_deref(), Some("v3.2.46"));
    assert_eq!(p("v3.6.0-rc.5").as_deref(), Some("v3.6.0-rc.4"));
    // Numeric identifiers order numerically: beta.10 after beta.9.
    assert_eq!(p("v3.0.0-beta.10").as_deref(), Some("v3.0.0-beta.9"));

    let t = classify_repo("sveltejs__svelte");
    let rs = releases_of(&t, Some("svelte"));
    let p = |tag| prev(&rs, &t, tag);
    // svelte@4.2.20 shipped after 5.0.0, yet 5.0.0's previous stable is the last 4.x.
    assert_eq!(p("svelte@5.0.0").as_deref(), Some("svelte@4.2.20"));
    assert_eq!(p("svelte@4.2.20").as_deref(), Some("svelte@4.2.19"));
    assert_eq!(
        p("svelte@5.0.0-next.2").as_deref(),
        Some("svelte@5.0.0-next.1")
    );
    // The monorepo-style tags continue the old `v` line.
    assert_eq!(p("svelte@4.0.0").as_deref(), Some("v3.59.2"));
    assert_eq!(p("svelte@4.2.2").as_deref(), Some("svelte@4.2.1"));
}
