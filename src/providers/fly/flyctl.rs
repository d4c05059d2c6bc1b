//! flyctl mode: when there is no image to deploy, flyctl must build one from the Dockerfile.
//! Runs `flyctl deploy` with the token in its environment, streams its output into a log
//! group, and reads the release flyctl prints with `FLY_EMIT_RELEASE_JSON=1`.

use crate::config::FlyStrategy;
use crate::inputs::Env;
use crate::providers::Deps;
use crate::providers::{DeployOutcome, ProviderError};
use crate::secret::Secret;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The arguments of `flyctl deploy` (also what `--dry-run` shows).
pub(crate) fn args(
    config: Option<&Path>,
    app: &str,
    image: Option<&str>,
    strategy: FlyStrategy,
    wait_timeout: Duration,
) -> Vec<String> {
    let mut a = vec!["deploy".to_string()];
    if let Some(c) = config {
        a.extend(["--config".into(), c.display().to_string()]);
    }
    a.extend(["--app".into(), app.to_string()]);
    if let Some(i) = image {
        a.extend(["--image".into(), i.to_string()]);
    }
    a.extend([
        "--strategy".into(),
        strategy.name().into(),
        "--wait-timeout".into(),
        format!("{}s", wait_timeout.as_secs().max(1)),
    ]);
    a
}

/// `flyctl` (or `fly`) on the PATH of the run's environment.
pub(crate) fn find(env: &Env) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    for dir in std::env::split_paths(path) {
        for name in ["flyctl", "fly"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The release JSON flyctl prints at the end: `{"id","version","image_ref"}`.
pub(crate) fn parse_release(line: &str) -> Option<(Option<String>, Option<String>)> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    if !v.is_object() || (v.get("image_ref").is_none() && v.get("version").is_none()) {
        return None;
    }
    let image = match &v["image_ref"] {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            let repo = o.get("repository").and_then(Value::as_str).unwrap_or("");
            let registry = o.get("registry").and_then(Value::as_str).unwrap_or("");
            let tag = o.get("tag").and_then(Value::as_str).unwrap_or("latest");
            Some(format!("{registry}/{repo}:{tag}"))
        }
        _ => None,
    };
    let version = match &v["version"] {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    Some((image, version))
}

pub(crate) async fn deploy(
    deps: &Deps,
    token: &Secret,
    program: &Path,
    args: &[String],
) -> Result<DeployOutcome, ProviderError> {
    let _group = deps.console.group(format!("flyctl {}", args.join(" ")));
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(&deps.root)
        .env_clear()
        .envs(deps.env.0.iter())
        .env("FLY_API_TOKEN", token.expose())
        .env("FLY_EMIT_RELEASE_JSON", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ProviderError::Other(format!("cannot run {}: {e}", program.display())))?;
    let mut stdout = child.stdout.take().map(|s| BufReader::new(s).lines());
    let mut stderr = child.stderr.take().map(|s| BufReader::new(s).lines());
    let mut tail: Vec<String> = Vec::new();
    let mut release = None;
    loop {
        let line = tokio::select! {
            l = next(&mut stdout), if stdout.is_some() => match l { Some(l) => l, None => { stdout = None; continue } },
            l = next(&mut stderr), if stderr.is_some() => match l { Some(l) => l, None => { stderr = None; continue } },
            else => break,
        };
        if let Some(r) = parse_release(&line) {
            release = Some(r);
        }
        deps.console.info(&line);
        tail.push(deps.console.redactor.redact(&line));
        if tail.len() > 30 {
            tail.remove(0);
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| ProviderError::Other(format!("flyctl did not finish: {e}")))?;
    if !status.success() {
        return Err(ProviderError::Failed {
            message: format!("flyctl deploy failed ({status})"),
            rolled_back: None,
            log_excerpt: Some(tail.join("\n")),
        });
    }
    let (image, version) = release.unwrap_or((None, None));
    Ok(DeployOutcome {
        image,
        version,
        ..DeployOutcome::default()
    })
}

async fn next<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut Option<tokio::io::Lines<R>>,
) -> Option<String> {
    match lines {
        Some(l) => l.next_line().await.ok().flatten(),
        None => None,
    }
}

pub(crate) fn missing_error() -> ProviderError {
    ProviderError::Config(
        "no image to deploy, so flyctl must build one, but neither `flyctl` nor `fly` is on PATH. \
         Add `- uses: superfly/flyctl-actions/setup-flyctl@ed8efb33836e8b2096c7fd3ba1c8afe303ebbff1 # 1.6` \
         before this step, or give \
         `fly.image` (or `[build] image` in fly.toml) to deploy a pushed image through the \
         Machines API"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_follow_flyctl() {
        let a = args(
            Some(Path::new("infra/fly.toml")),
            "web",
            None,
            FlyStrategy::Bluegreen,
            Duration::from_secs(300),
        );
        assert_eq!(
            a.join(" "),
            "deploy --config infra/fly.toml --app web --strategy bluegreen --wait-timeout 300s"
        );
    }

    #[test]
    fn release_json_is_read_in_both_image_forms() {
        assert_eq!(
            parse_release(
                r#"{"id":"r1","version":7,"image_ref":"registry.fly.io/web:deployment-1"}"#
            ),
            Some((
                Some("registry.fly.io/web:deployment-1".into()),
                Some("7".into())
            ))
        );
        let obj = r#"{"version":"8","image_ref":{"registry":"registry.fly.io","repository":"web","tag":"t"}}"#;
        assert_eq!(
            parse_release(obj),
            Some((Some("registry.fly.io/web:t".into()), Some("8".into())))
        );
        assert_eq!(parse_release("==> Building image"), None);
        assert_eq!(parse_release(r#"{"other":1}"#), None);
    }
}
