//! One conductor per subcommand. Each takes the resolved [`Ctx`] and its arguments and
//! returns a [`Report`]; none of them prints the final result itself.

pub mod check;
pub mod deploy;
pub mod health;
pub mod notes;
pub mod notify;
pub mod plan;
pub mod preview;
pub mod release;
pub mod rollback;
pub mod tag;

use crate::cli::Command;
use crate::context::Ctx;
use crate::exit::Failure;
use crate::inputs::pick;
use crate::report::Report;

pub async fn dispatch(ctx: &Ctx, command: &Command) -> Result<Report, Failure> {
    if let Some(missing) = ctx
        .config_missing
        .as_ref()
        .filter(|_| needs_config(ctx, command))
    {
        return Err(Failure::input(missing.refusal(command.name())));
    }
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
        Command::Preview(a) => preview::run(ctx, a).await,
    }
}

/// Whether `command` acts on configured targets (and cannot run on an empty config): `check`
/// checks what it finds, `tag`, `notes` and `release` have defaults for every setting, and
/// `health --url` and `notify --dispatch/--webhook` name their targets themselves.
fn needs_config(ctx: &Ctx, command: &Command) -> bool {
    match command {
        Command::Plan(_)
        | Command::Deploy(_)
        | Command::Promote(_)
        | Command::Rollback(_)
        | Command::Preview(_) => true,
        Command::Health(a) => a.urls.is_empty(),
        Command::Notify(a) => {
            a.webhook.is_none() && pick(a.dispatch.clone(), &ctx.inputs, "dispatch").is_none()
        }
        Command::Check(_) | Command::Tag(_) | Command::Notes(_) | Command::Release(_) => false,
    }
}
