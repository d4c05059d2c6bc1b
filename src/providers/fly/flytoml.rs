//! What the provider reads from an environment's fly.toml: the app name, `[build] image`,
//! and `[env]` (set on every machine's config along with the image).

use crate::providers::ProviderError;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Default, PartialEq)]
pub struct FlyToml {
    pub app: Option<String>,
    pub image: Option<String>,
    pub env: BTreeMap<String, String>,
}

pub fn read(path: &Path, shown: &Path) -> Result<FlyToml, ProviderError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ProviderError::Config(format!(
            "cannot read the fly.toml at {}: {e} (fix `fly.config`)",
            shown.display()
        ))
    })?;
    parse(&text).map_err(|e| ProviderError::Config(format!("{}: {e}", shown.display())))
}

pub fn parse(text: &str) -> Result<FlyToml, String> {
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("not valid TOML: {e}"))?;
    let string = |item: Option<&toml_edit::Item>, key: &str| -> Result<Option<String>, String> {
        match item {
            None => Ok(None),
            Some(i) => i
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| format!("`{key}` must be a string")),
        }
    };
    let app = string(doc.get("app"), "app")?;
    let image = string(doc.get("build").and_then(|b| b.get("image")), "build.image")?;
    let mut env = BTreeMap::new();
    if let Some(table) = doc.get("env").and_then(|e| e.as_table_like()) {
        for (k, v) in table.iter() {
            // fly.toml env values may be numbers or booleans; Fly passes them as strings.
            let value = match v.as_value() {
                Some(toml_edit::Value::String(s)) => s.value().clone(),
                Some(other) => other.to_string().trim().to_string(),
                None => return Err(format!("`env.{k}` must be a value")),
            };
            env.insert(k.to_string(), value);
        }
    }
    Ok(FlyToml { app, image, env })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_app_image_and_env() {
        let t = parse(
            "app = 'web-staging'\nprimary_region = 'iad'\n[build]\nimage = 'registry.fly.io/web:v2'\n[env]\nPORT = 8080\nMODE = \"staging\"\n",
        )
        .expect("valid");
        assert_eq!(t.app.as_deref(), Some("web-staging"));
        assert_eq!(t.image.as_deref(), Some("registry.fly.io/web:v2"));
        assert_eq!(t.env.get("PORT").map(String::as_str), Some("8080"));
        assert_eq!(t.env.get("MODE").map(String::as_str), Some("staging"));
    }

    #[test]
    fn a_build_without_image_means_flyctl_builds() {
        let t = parse("app = 'a'\n[build]\ndockerfile = 'Dockerfile'\n").expect("valid");
        assert_eq!(t.image, None);
    }

    #[test]
    fn bad_input_is_an_error_with_the_key() {
        assert!(parse("app = 3\n").unwrap_err().contains("`app`"));
        assert!(parse("app = \n").unwrap_err().contains("TOML"));
    }

    /// Real fly.toml files (shared corpus): reading never panics, and nearly all parse.
    #[test]
    fn the_corpus_fly_tomls_parse() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/fly");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let (mut total, mut ok) = (0, 0);
        for e in entries.flatten() {
            if e.path().extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            total += 1;
            ok += usize::from(parse(&text).is_ok());
        }
        assert!(total > 50, "only {total} corpus files");
        assert!(ok * 100 >= total * 95, "{ok} of {total} parsed");
    }
}
