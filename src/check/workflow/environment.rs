//! Which environment a deploy goes to, decided from whole words (`backstage-api` names no
//! stage; `app-staging` does) of what names it, in order of how directly each names it, and
//! said in the finding: "production (config `fly.production.toml`)".

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    Production,
    /// Staging, preview, development, testing: anything that is not production.
    Staging,
}

/// An environment and how it was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub env: Env,
    pub because: String,
}

impl Decision {
    pub fn describe(&self) -> String {
        let name = match self.env {
            Env::Production => "production",
            Env::Staging => "a non-production environment",
        };
        format!("{name} ({})", self.because)
    }
}

const STAGING: &[&str] = &[
    "staging",
    "stage",
    "stg",
    "preview",
    "previews",
    "dev",
    "develop",
    "development",
    "test",
    "testing",
    "qa",
    "uat",
    "sandbox",
    "review",
    "preprod",
    "preproduction",
    "nonprod",
];
const PRODUCTION: &[&str] = &["production", "prod", "prd", "live"];

/// Words that name an environment in an app, config or environment name, but in a step,
/// job or workflow name usually mean something else ("Build and Test", "Go live").
const AMBIGUOUS_IN_PROSE: &[&str] = &["test", "review", "live"];

/// The environment one name points at, by its words; None when it names neither or both.
pub fn of_name(name: &str) -> Option<Env> {
    of_words(name, false)
}

/// As [`of_name`], for a description (a step, job or workflow name).
pub fn of_prose(name: &str) -> Option<Env> {
    of_words(name, true)
}

fn of_words(name: &str, prose: bool) -> Option<Env> {
    let words: Vec<String> = words(name)
        .into_iter()
        .filter(|w| !prose || !AMBIGUOUS_IN_PROSE.contains(&w.as_str()))
        .collect();
    let staging = words.iter().any(|w| STAGING.contains(&w.as_str()));
    let production = words.iter().any(|w| PRODUCTION.contains(&w.as_str()));
    match (staging, production) {
        (true, false) => Some(Env::Staging),
        (false, true) => Some(Env::Production),
        _ => None,
    }
}

/// Lowercase words of a name: split at anything not a letter or digit, and at a lowercase →
/// uppercase step (`deployStaging`).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Decide from `clues` (what it is, the text), the first that names an environment wins;
/// `fallback` when none does.
pub fn decide(clues: &[(&str, &str)], fallback: Decision) -> Decision {
    for (what, text) in clues {
        if text.trim().is_empty() {
            continue;
        }
        let prose = matches!(*what, "step" | "job" | "workflow");
        if let Some(env) = of_words(text, prose) {
            return Decision {
                env,
                because: format!("{what} `{}`", text.trim()),
            };
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_only() {
        assert_eq!(of_name("backstage-api"), None);
        assert_eq!(of_name("app-staging"), Some(Env::Staging));
        assert_eq!(of_name("fly.production.toml"), Some(Env::Production));
        assert_eq!(of_name("fly.toml"), None);
        assert_eq!(of_name("deployStaging"), Some(Env::Staging));
        assert_eq!(of_name("productivity"), None);
        assert_eq!(of_name("livestream"), None);
        assert_eq!(of_name("preproduction"), Some(Env::Staging));
        assert_eq!(of_name("COOLIFY_WEBHOOK_PROD"), Some(Env::Production));
        assert_eq!(of_name("prod and staging"), None);
        assert_eq!(of_prose("Build, Test and Deploy"), None);
        assert_eq!(of_name("myapp-test"), Some(Env::Staging));
    }

    #[test]
    fn the_first_clue_that_names_one_wins() {
        let fallback = Decision {
            env: Env::Production,
            because: "nothing names another".into(),
        };
        let d = decide(
            &[("app", "jellychat"), ("job", "Deploy staging backend")],
            fallback.clone(),
        );
        assert_eq!(d.env, Env::Staging);
        assert_eq!(d.because, "job `Deploy staging backend`");
        assert_eq!(decide(&[("app", "x")], fallback.clone()), fallback);
    }
}
