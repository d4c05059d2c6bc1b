//! Production Dockerfile hardening (seed 001): the final stage runs as a non-root `USER`,
//! has an init (tini, dumb-init) or explains its signal handling, and no base image is
//! `latest` or untagged. Findings are warnings, or errors when `check.dockerfile-errors`.

use crate::report::{Diagnostic, Location, Severity};
use std::path::Path;

/// One instruction, with continuation lines joined.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
    line: usize,
}

fn parse(text: &str) -> (Vec<Instruction>, Vec<String>) {
    let mut out = Vec::new();
    let mut comments = Vec::new();
    let mut current: Option<Instruction> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(c) = line.strip_prefix('#') {
            comments.push(c.trim().to_lowercase());
            continue;
        }
        if line.is_empty() && current.is_none() {
            continue;
        }
        let (body, continues) = match line.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (line, false),
        };
        match current.as_mut() {
            Some(ins) => {
                ins.args.push(' ');
                ins.args.push_str(body);
            }
            None => {
                let (kw, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                current = Some(Instruction {
                    keyword: kw.to_ascii_uppercase(),
                    args: rest.trim().to_string(),
                    line: i + 1,
                });
            }
        }
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current.take());
    (out, comments)
}

/// Check the Dockerfile at `path` (repo-relative, for messages) with contents `text`.
/// `on_fly`: the image runs on Fly Machines, whose own init is PID 1 and forwards signals to
/// the app, so the "no init process" rule does not apply.
pub fn check(path: &Path, text: &str, as_errors: bool, on_fly: bool) -> Vec<Diagnostic> {
    let severity = if as_errors {
        Severity::Error
    } else {
        Severity::Warning
    };
    let loc = |line: usize| Location::new(path, line, 1).with_source(text);
    let (instructions, comments) = parse(text);
    let mut out = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    let mut final_from = 0;
    for (idx, ins) in instructions
        .iter()
        .enumerate()
        .filter(|(_, i)| i.keyword == "FROM")
    {
        final_from = idx;
        let words: Vec<&str> = ins
            .args
            .split_whitespace()
            .filter(|w| !w.starts_with("--"))
            .collect();
        let Some(image) = words.first() else { continue };
        let problem = base_problem(image, &stages);
        if let (Some(as_kw), Some(name)) = (words.get(1), words.get(2)) {
            if as_kw.eq_ignore_ascii_case("as") {
                stages.push(name.to_lowercase());
            }
        }
        if let Some(problem) = problem {
            out.push(
                Diagnostic::new(
                    severity,
                    "docker/base-tag",
                    format!("base image `{image}` {problem}: the build changes under you"),
                    loc(ins.line),
                )
                .with_help("pin a version tag (`node:20.11-slim`), ideally with a digest"),
            );
        }
    }
    let Some(from) = instructions.get(final_from).filter(|i| i.keyword == "FROM") else {
        return out;
    };
    let last = &instructions[final_from..];
    let user = last.iter().rev().find(|i| i.keyword == "USER");
    match user {
        None => out.push(
            Diagnostic::new(
                severity,
                "docker/root-user",
                "the final stage sets no `USER`: the app runs as root",
                loc(from.line),
            )
            .with_help("add `USER app` (or a numeric uid) after installing packages"),
        ),
        Some(u) if is_root(&u.args) => out.push(
            Diagnostic::new(
                severity,
                "docker/root-user",
                format!("the final stage runs as `{}`, which is root", u.args),
                loc(u.line),
            )
            .with_help("switch to a non-root user for the running app"),
        ),
        Some(_) => {}
    }
    let has_init = last.iter().any(|i| {
        matches!(i.keyword.as_str(), "ENTRYPOINT" | "CMD" | "RUN" | "COPY")
            && ["tini", "dumb-init", "catatonit", "s6-overlay", "/init"]
                .iter()
                .any(|w| i.args.contains(w))
    }) || last.iter().any(|i| i.keyword == "STOPSIGNAL")
        || comments
            .iter()
            .any(|c| c.contains("signal") || c.contains("sigterm"));
    if !has_init && !on_fly {
        let at = last
            .iter()
            .rev()
            .find(|i| matches!(i.keyword.as_str(), "ENTRYPOINT" | "CMD"))
            .unwrap_or(from);
        out.push(
            Diagnostic::new(severity, "docker/no-init", "no init process (tini, dumb-init) and no word on signal handling: as PID 1 the app may ignore SIGTERM and be killed mid-request on every deploy", loc(at.line))
                .with_help("use `ENTRYPOINT [\"tini\", \"--\"]`, or add a comment saying how the app handles SIGTERM"),
        );
    }
    out
}

fn base_problem(image: &str, stages: &[String]) -> Option<&'static str> {
    let lower = image.to_lowercase();
    // `scratch`, earlier stages, build-arg images and digests are not floating tags.
    if lower == "scratch" || lower.contains('$') || stages.contains(&lower) || image.contains('@') {
        return None;
    }
    let name_tag = image.rsplit('/').next().unwrap_or(image);
    match name_tag.split_once(':') {
        None => Some("has no tag (so it is `latest`)"),
        Some((_, "latest")) => Some("is `latest`"),
        Some(_) => None,
    }
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user).trim();
    name == "root" || name == "0"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(String, usize)> {
        check(Path::new("Dockerfile"), text, false, false)
            .into_iter()
            .map(|d| (d.rule, d.location.line))
            .collect()
    }

    #[test]
    fn hardened_multi_stage_file_is_clean() {
        let text = "FROM rust:1.85 AS build\nRUN cargo build --release\n\nFROM debian:bookworm-slim\nRUN apt-get install -y tini\nCOPY --from=build /app /app\nUSER 1000:1000\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"/app\"]\n";
        assert_eq!(rules(text), vec![]);
    }

    #[test]
    fn root_untagged_and_no_init_are_found() {
        let text = "FROM node\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n";
        assert_eq!(
            rules(text),
            vec![
                ("docker/base-tag".into(), 1),
                ("docker/root-user".into(), 1),
                ("docker/no-init".into(), 4)
            ]
        );
        let text = "FROM node:latest\nUSER root\n# The server traps SIGTERM and drains connections.\nCMD [\"node\", \"s.js\"]\n";
        assert_eq!(
            rules(text),
            vec![
                ("docker/base-tag".into(), 1),
                ("docker/root-user".into(), 2)
            ]
        );
    }

    #[test]
    fn errors_when_configured_and_stage_names_are_not_images() {
        let text = "FROM python:3.12 AS base\nFROM base\nUSER app\nSTOPSIGNAL SIGINT\n";
        assert!(check(Path::new("D"), text, true, false).is_empty());
        let d = check(
            Path::new("D"),
            "FROM alpine:latest\nUSER app\nSTOPSIGNAL SIGTERM\n",
            true,
            false,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, Severity::Error);
    }

    #[test]
    fn continuation_lines_join() {
        let text = "FROM alpine:3.19\nRUN apk add \\\n    tini\nUSER nobody\nENTRYPOINT [\"/sbin/tini\", \"--\"]\n";
        assert_eq!(rules(text), vec![]);
    }

    #[test]
    fn images_for_fly_machines_need_no_init_of_their_own() {
        let text = "FROM node:22-slim\nUSER node\nCMD [\"node\", \"server.js\"]\n";
        let rules = |on_fly| -> Vec<String> {
            check(Path::new("Dockerfile"), text, false, on_fly)
                .into_iter()
                .map(|d| d.rule)
                .collect()
        };
        assert!(rules(false).contains(&"docker/no-init".to_string()));
        assert!(!rules(true).contains(&"docker/no-init".to_string()));
    }
}
