//! `stage-gate-sim [--scenario FILE] [--port-file FILE] [--log FILE] [--env]`
//!
//! Serves every simulator on loopback, prints their base URLs as one JSON line (with `--env`,
//! also `export STAGE_GATE_…_URL=…` lines for a shell), writes the same JSON to `--port-file`,
//! and runs until killed. The request log goes to `--log` or `STAGE_GATE_SIM_LOG` as JSON lines.

use stage_gate_sim::{Scenario, Urls};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: stage-gate-sim [--scenario FILE] [--port-file FILE] [--log FILE] [--env]

Serves stand-ins of the Fly Machines, Coolify and GitHub APIs (and health endpoints at
<health>/health/<name>) on 127.0.0.1, prints their base URLs as one JSON line, and runs until
killed.
  --scenario FILE   what the vendors hold at the start (YAML; the format, with every key, is
                    sim/README.md's \"Scenario file\")
  --port-file FILE  also write the URLs' JSON line to FILE
  --log FILE        the request log, as JSON lines (or $STAGE_GATE_SIM_LOG)
  --env             also print `export` lines of the variables stage-gate reads to find each
                    service (STAGE_GATE_FLY_API_URL, STAGE_GATE_COOLIFY_URL, GITHUB_API_URL, …)

flyctl's stand-in, for flyctl-mode deploys against the simulator, is sim/flyctl/flyctl.";

#[derive(Debug, Default, PartialEq)]
struct Args {
    scenario: Option<PathBuf>,
    port_file: Option<PathBuf>,
    log: Option<PathBuf>,
    env: bool,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    while let Some(a) = argv.next() {
        let mut value = |name: &str| {
            argv.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--scenario" => args.scenario = Some(value("--scenario")?),
            "--port-file" => args.port_file = Some(value("--port-file")?),
            "--log" => args.log = Some(value("--log")?),
            "--env" => args.env = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(args)
}

/// The variables `stage-gate` itself reads to find each service (fly and coolify providers,
/// the GitHub context), for a shell to export so that `stage-gate` talks to the simulators.
fn env_lines(urls: &Urls) -> String {
    [
        ("STAGE_GATE_FLY_API_URL", &urls.fly),
        ("STAGE_GATE_COOLIFY_URL", &urls.coolify),
        ("GITHUB_API_URL", &urls.github),
        ("STAGE_GATE_GITHUB_UPLOADS_URL", &urls.uploads),
        ("STAGE_GATE_HEALTH_URL", &urls.health),
    ]
    .iter()
    .map(|(k, v)| format!("export {k}={v}\n"))
    .collect()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let scenario = match &args.scenario {
        Some(path) => match Scenario::load(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("stage-gate-sim: {e}");
                return ExitCode::from(2);
            }
        },
        None => Scenario::default(),
    };
    let log = args
        .log
        .clone()
        .or_else(|| std::env::var_os("STAGE_GATE_SIM_LOG").map(PathBuf::from));
    let sim = match stage_gate_sim::start_with_log(scenario, log).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("stage-gate-sim: cannot listen on loopback: {e}");
            return ExitCode::from(1);
        }
    };
    let json = serde_json::to_string(&sim.urls).unwrap_or_default();
    println!("{json}");
    if args.env {
        print!("{}", env_lines(&sim.urls));
    }
    if let Some(path) = &args.port_file {
        if let Err(e) = std::fs::write(path, format!("{json}\n")) {
            eprintln!("stage-gate-sim: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    drop(sim);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(str::to_string))
    }

    #[test]
    fn parses_flags() {
        let a = args("--scenario s.yaml --port-file p.json --env").expect("valid");
        assert_eq!(a.scenario, Some(PathBuf::from("s.yaml")));
        assert_eq!(a.port_file, Some(PathBuf::from("p.json")));
        assert!(a.env);
    }

    #[test]
    fn env_lines_name_what_stage_gate_reads() {
        let urls = Urls {
            fly: "http://f".into(),
            coolify: "http://c".into(),
            github: "http://g".into(),
            uploads: "http://u".into(),
            health: "http://h".into(),
        };
        let text = env_lines(&urls);
        assert!(text.contains("export STAGE_GATE_FLY_API_URL=http://f\n"));
        assert!(text.contains("export STAGE_GATE_COOLIFY_URL=http://c\n"));
        assert!(text.contains("export GITHUB_API_URL=http://g\n"));
        assert!(text.contains("export STAGE_GATE_GITHUB_UPLOADS_URL=http://u\n"));
    }

    #[test]
    fn rejects_unknown_and_missing_values() {
        assert!(args("--nope").unwrap_err().contains("unknown argument"));
        assert!(args("--scenario").unwrap_err().contains("needs a value"));
    }
}
