//! The action's launcher (`dist/launcher.sh`): a release binary is downloaded from the
//! action's own release and run only when it matches the checksum list committed beside the
//! launcher; a mismatch is an error (exit 3) and never a fallback; no listed binary, or a
//! download that fails, leaves a source build to the action (`build=true` and a cache key).

use std::path::Path;
use std::process::Command;

const NAME: &str = "stage-gate-x86_64-unknown-linux-musl";
const FAKE: &[u8] = b"#!/bin/sh\necho \"released stage-gate $*\"\n";

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// An action checkout with only dist/launcher.sh and a SHA256SUMS naming `listed`.
fn action_dir(listed: Option<&[u8]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dist")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/launcher.sh"),
        dir.path().join("dist/launcher.sh"),
    )
    .unwrap();
    let sums = listed
        .map(|b| format!("{}  {NAME}\n", sha256(b)))
        .unwrap_or_default();
    std::fs::write(dir.path().join("dist/SHA256SUMS"), sums).unwrap();
    dir
}

/// A release host serving `body` at `/v1.2.3/<NAME>` (404 for anything else).
fn release_host(body: &'static [u8]) -> String {
    let app = axum::Router::new().route(
        &format!("/v1.2.3/{NAME}"),
        axum::routing::get(move || async move { body }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

fn launcher(action: &Path, host: &str, cache: &Path, args: &[&str]) -> std::process::Output {
    launcher_at("v1.2.3", action, host, cache, args)
}

/// The launcher of the action at release `ref_`.
fn launcher_at(
    ref_: &str,
    action: &Path,
    host: &str,
    cache: &Path,
    args: &[&str],
) -> std::process::Output {
    Command::new("bash")
        .arg(action.join("dist/launcher.sh"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("GITHUB_ACTION_REF", ref_)
        .env("GITHUB_ACTION_REPOSITORY", "acme/stage-gate")
        .env("STAGE_GATE_RELEASES_URL", host)
        .env("STAGE_GATE_CACHE_DIR", cache)
        .output()
        .expect("bash runs")
}

#[test]
fn a_release_binary_matching_the_committed_checksum_is_downloaded_and_run() {
    let action = action_dir(Some(FAKE));
    let cache = tempfile::tempdir().unwrap();
    let host = release_host(FAKE);
    let out = launcher(action.path(), &host, cache.path(), &["--locate"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = stdout.trim().strip_prefix("path=").expect("a path");
    assert_eq!(std::fs::read(path).unwrap(), FAKE);
    // Run through the launcher: the downloaded binary gets the arguments.
    let out = launcher(
        action.path(),
        &host,
        cache.path(),
        &["check", "--format", "json"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "released stage-gate check --format json"
    );
}

#[test]
fn a_release_binary_that_does_not_match_is_refused_and_nothing_else_runs() {
    let action = action_dir(Some(FAKE));
    let cache = tempfile::tempdir().unwrap();
    let host = release_host(b"#!/bin/sh\necho tampered\n");
    let out = launcher(action.path(), &host, cache.path(), &["--locate"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not match dist/SHA256SUMS"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("build=true"));
    let out = launcher(action.path(), &host, cache.path(), &["check"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("tampered"));
}

#[test]
fn no_listed_binary_or_a_failed_download_leaves_a_cached_source_build() {
    let cache = tempfile::tempdir().unwrap();
    // Nothing listed (a branch ref): no download at all.
    let action = action_dir(None);
    let out = launcher(
        action.path(),
        "http://127.0.0.1:9",
        cache.path(),
        &["--locate"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("build=true"), "{stdout}");
    assert!(
        stdout.contains("cache-key=stage-gate-source-Linux-x86_64-"),
        "{stdout}"
    );
    // Listed, but the release has no such asset: a warning, then the source build.
    let action = action_dir(Some(FAKE));
    let host = release_host(FAKE);
    let out = launcher_at("v9.9.9", action.path(), &host, cache.path(), &["--locate"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("build=true"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not download"));
}

#[test]
fn a_vendored_binary_that_does_not_match_is_refused_not_rebuilt() {
    let action = action_dir(None);
    let bin_dir = action.path().join("dist/bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::write(bin_dir.join(NAME), b"#!/bin/sh\necho tampered\n").unwrap();
    std::fs::write(
        action.path().join("dist/SHA256SUMS"),
        format!("{}  {NAME}\n", sha256(FAKE)),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = launcher(
        action.path(),
        "http://127.0.0.1:9",
        cache.path(),
        &["--locate"],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to run it"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("build=true"));
}
