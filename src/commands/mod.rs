//! One conductor per subcommand. Each takes the resolved [`Ctx`] and its arguments and
//! returns a [`Report`]; none of them prints the final result itself.

pub mod check;
pub mod deploy;
pub mod health;
pub mod notes;
pub mod notify;
pub mod plan;
pub mod release;
pub mod rollback;
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
        Command::Deploy(a) => deploy::deploy(ctx, a).await,
        Command::Promote(a) => deploy::promote(ctx, a).await,
        Command::Rollback(a) => rollback::run(ctx, a).await,
        Command::Notify(a) => notify::run(ctx, a).await,
    }
}
