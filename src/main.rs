//! The `stage-gate` binary: parse, run, exit. Everything else is in the library.

fn main() -> std::process::ExitCode {
    let env = stage_gate::inputs::Env::from_process();
    let exit = stage_gate::run::run(std::env::args_os().collect(), env, &mut std::io::stdout());
    std::process::ExitCode::from(exit.code())
}
