//! What a provider may use of its surroundings, and nothing more: [`Deps`].

use crate::cancel::Cancel;
use crate::http::HttpClient;
use crate::inputs::{Env, Inputs};
use crate::report::Console;
use crate::secret::Secret;
use std::path::{Path, PathBuf};

/// The narrow dependencies a provider is built with, taken once from the run's context
/// (`Ctx::provider_deps`): no config, no GitHub client, no output files. A provider keeps
/// its own copy (every field is cheap to clone).
#[derive(Debug, Clone)]
pub struct Deps {
    /// The run's HTTP client (retry policy, redaction).
    pub http: HttpClient,
    /// Where progress goes; secrets read through [`Deps::secret`] are masked in it.
    pub console: Console,
    /// Set when the runner cancels the step.
    pub cancel: Cancel,
    /// The repository root: relative paths in the config are relative to it.
    pub root: PathBuf,
    /// The job's environment, as the run read it (commands and flyctl run with it).
    pub env: Env,
    /// The step's inputs (credentials may come from one).
    pub inputs: Inputs,
    /// The URL of this workflow run, when known: a lease's owner, a log link.
    pub run_url: Option<String>,
}

impl Deps {
    /// A secret from the named input, else the named env var; masked as soon as it is read.
    pub(crate) fn secret(&self, input: Option<&str>, env_var: &str) -> Option<Secret> {
        let value = input
            .and_then(|name| self.inputs.get(name))
            .or_else(|| self.env.get(env_var).map(str::to_string))?;
        self.console.mask(&value);
        Some(Secret::new(value))
    }

    /// A path from the config, relative to the repository root.
    pub(crate) fn path(&self, p: impl AsRef<Path>) -> PathBuf {
        let p = p.as_ref();
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::context::Ctx;
    use crate::inputs::Env;

    #[test]
    fn deps_read_credentials_as_the_context_does_and_mask_them() {
        let mut env = Env::default();
        env.set("INPUT_FLY-API-TOKEN", "from-input");
        env.set("FLY_API_TOKEN", "from-env");
        env.set("GITHUB_SERVER_URL", "https://github.com");
        env.set("GITHUB_REPOSITORY", "acme/shop");
        env.set("GITHUB_RUN_ID", "7");
        let (ctx, _) = Ctx::for_test("/repo", env);
        let deps = ctx.provider_deps();
        let token = deps.secret(Some("fly-api-token"), "FLY_API_TOKEN").unwrap();
        assert_eq!(token.expose(), "from-input");
        assert_eq!(
            deps.secret(None, "FLY_API_TOKEN").unwrap().expose(),
            "from-env"
        );
        assert_eq!(deps.console.redactor.redact("t=from-env"), "t=***");
        assert!(deps.secret(None, "UNSET").is_none());
        assert_eq!(deps.path("fly.toml"), ctx.path("fly.toml"));
        assert_eq!(deps.path("/abs/fly.toml"), ctx.path("/abs/fly.toml"));
        assert_eq!(
            deps.run_url.as_deref(),
            Some("https://github.com/acme/shop/actions/runs/7")
        );
    }
}
