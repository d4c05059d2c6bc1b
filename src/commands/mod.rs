//! One conductor per subcommand. Each takes the resolved [`Ctx`] and its arguments and
//! returns a [`Report`]; none of them prints the final result itself.

pub mod check;
pub mod health;
pub mod notes;
pub mod plan;
pub mod release;
pub mod tag;

use crate::cli::Command;
use crate::context::Ctx;
use crate::exit::Failure;
use crate::report::Report;

pub async fn dispatch(ctx: &Ctx, command: &Command) -> Result<Report, Failure> {
    match command {
        Command::Check(a) => check::run(ctx, a).await,
        Command::Plan(a) => plan::run(ctx, a).await,
        Command::Notes(a) => notes::run(ctx, a).await,
        Command::Health(a) => health::run(ctx, a).await,
        Command::Tag(a) => tag::run(ctx, a).await,
        Command::Release(a) => release::run(ctx, a).await,
        other => Err(not_built(other.name())),
    }
}

/// A subcommand whose capability has not landed: an honest failure, never a fake success.
fn not_built(name: &str) -> Failure {
    Failure::internal(format!(
        "`stage-gate {name}` is not built yet in this version; nothing was done"
    ))
}
