//! The files a release carries: asset globs resolved to files (read before anything is
//! sent, so a missing build output stops the run before GitHub is touched), their content
//! types and SHA-256 digests, and the `SHA256SUMS` file listing every asset.

use globset::{GlobBuilder, GlobSetBuilder};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name of the checksums file added to every release with assets.
pub const CHECKSUMS: &str = "SHA256SUMS";

/// Directories never searched for assets.
const SKIP_DIRS: [&str; 3] = [".git", "node_modules", "target/debug"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssetError {
    #[error("asset glob `{glob}` is not a valid glob: {reason}")]
    BadGlob { glob: String, reason: String },
    #[error("asset glob `{glob}` matched no file (relative to {root})")]
    NoMatch { glob: String, root: String },
    #[error("two assets would both be named `{name}`: {first} and {second}; GitHub names an asset by its file name")]
    Clash {
        name: String,
        first: String,
        second: String,
    },
    #[error(
        "an asset may not be named `{CHECKSUMS}`: stage-gate writes that file itself ({path})"
    )]
    Reserved { path: String },
    #[error("cannot read asset {path}: {reason}")]
    Read { path: String, reason: String },
}

/// One file to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFile {
    /// The asset name on GitHub: the file name.
    pub name: String,
    /// Relative to the repository root, for messages.
    pub path: PathBuf,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

impl AssetFile {
    pub fn new(name: impl Into<String>, path: PathBuf, bytes: Vec<u8>) -> AssetFile {
        let name = name.into();
        AssetFile {
            content_type: content_type(&name),
            sha256: sha256_hex(&bytes),
            name,
            path,
            bytes,
        }
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every file matched by `globs` under `root`, read into memory, in name order. Each glob
/// must match at least one file (a release silently missing its binaries is worse than a
/// failed job).
pub fn collect(root: &Path, globs: &[String]) -> Result<Vec<AssetFile>, AssetError> {
    let mut by_name: BTreeMap<String, AssetFile> = BTreeMap::new();
    for pattern in globs {
        // `*` stops at `/` as in a shell; `**` crosses directories.
        let matcher = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .and_then(|g| GlobSetBuilder::new().add(g).build())
            .map_err(|e| AssetError::BadGlob {
                glob: pattern.clone(),
                reason: e.to_string(),
            })?;
        let base = literal_prefix(pattern);
        let mut files = Vec::new();
        walk(&root.join(&base), &mut files);
        let mut matched = 0;
        for file in files {
            let Ok(rel) = file.strip_prefix(root) else {
                continue;
            };
            if !matcher.is_match(rel) {
                continue;
            }
            matched += 1;
            let name = rel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == CHECKSUMS {
                return Err(AssetError::Reserved {
                    path: rel.display().to_string(),
                });
            }
            if let Some(prev) = by_name.get(&name) {
                if prev.path != rel {
                    return Err(AssetError::Clash {
                        name,
                        first: prev.path.display().to_string(),
                        second: rel.display().to_string(),
                    });
                }
                continue;
            }
            let bytes = std::fs::read(&file).map_err(|e| AssetError::Read {
                path: rel.display().to_string(),
                reason: e.to_string(),
            })?;
            by_name.insert(name.clone(), AssetFile::new(name, rel.to_path_buf(), bytes));
        }
        if matched == 0 {
            return Err(AssetError::NoMatch {
                glob: pattern.clone(),
                root: root.display().to_string(),
            });
        }
    }
    Ok(by_name.into_values().collect())
}

/// The directories of a glob before its first wildcard: only they are walked.
fn literal_prefix(pattern: &str) -> PathBuf {
    let mut base = PathBuf::new();
    let parts: Vec<&str> = pattern.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if part.contains(['*', '?', '[', '{']) {
            break;
        }
        base.push(part);
    }
    base
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            let skip = SKIP_DIRS.iter().any(|s| path.ends_with(s));
            if !skip {
                walk(&path, out);
            }
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            out.push(path);
        }
    }
}

/// The `Content-Type` GitHub is told (it is echoed to downloaders).
pub fn content_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    let table: [(&str, &str); 16] = [
        (".tar.gz", "application/gzip"),
        (".tgz", "application/gzip"),
        (".gz", "application/gzip"),
        (".zip", "application/zip"),
        (".tar", "application/x-tar"),
        (".xz", "application/x-xz"),
        (".zst", "application/zstd"),
        (".json", "application/json"),
        (".txt", "text/plain"),
        (".md", "text/markdown"),
        (".sha256", "text/plain"),
        (".asc", "application/pgp-signature"),
        (".sig", "application/pgp-signature"),
        (".deb", "application/vnd.debian.binary-package"),
        (".rpm", "application/x-rpm"),
        (".dmg", "application/x-apple-diskimage"),
    ];
    if lower == CHECKSUMS.to_ascii_lowercase() {
        return "text/plain";
    }
    table
        .iter()
        .find(|(ext, _)| lower.ends_with(ext))
        .map(|(_, ct)| *ct)
        .unwrap_or("application/octet-stream")
}

/// `SHA256SUMS` in the format `sha256sum -c` reads: `<hex>  <name>`, sorted by name.
pub fn checksums(entries: &BTreeMap<String, String>) -> String {
    entries
        .iter()
        .map(|(name, sha)| format!("{sha}  {name}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        dir
    }

    #[test]
    fn globs_collect_files_by_name() {
        let dir = tree(&[
            ("dist/app-linux.tar.gz", "l"),
            ("dist/app-mac.zip", "m"),
            ("dist/notes.txt", "n"),
            ("other/app.zip", "o"),
        ]);
        let got = collect(dir.path(), &["dist/*.tar.gz".into(), "dist/*.zip".into()]).unwrap();
        let names: Vec<&str> = got.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, vec!["app-linux.tar.gz", "app-mac.zip"]);
        assert_eq!(got[0].content_type, "application/gzip");
        assert_eq!(got[0].sha256, sha256_hex(b"l"));
        assert_eq!(got[1].path, PathBuf::from("dist/app-mac.zip"));
    }

    #[test]
    fn recursive_globs_walk_only_below_their_prefix() {
        let dir = tree(&[("build/a/x.bin", "1"), ("build/b/c/y.bin", "2")]);
        let got = collect(dir.path(), &["build/**/*.bin".into()]).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(literal_prefix("build/**/*.bin"), PathBuf::from("build"));
        assert_eq!(literal_prefix("*.zip"), PathBuf::new());
    }

    #[test]
    fn a_glob_matching_nothing_is_an_error() {
        let dir = tree(&[("dist/a.zip", "a")]);
        let e = collect(dir.path(), &["dist/*.tar.gz".into()]).unwrap_err();
        assert!(matches!(e, AssetError::NoMatch { .. }), "{e}");
        let e = collect(dir.path(), &["dist/[".into()]).unwrap_err();
        assert!(matches!(e, AssetError::BadGlob { .. }), "{e}");
    }

    #[test]
    fn same_file_name_twice_is_a_clash() {
        let dir = tree(&[("a/app.zip", "1"), ("b/app.zip", "2")]);
        let e = collect(dir.path(), &["*/app.zip".into()]).unwrap_err();
        assert!(matches!(e, AssetError::Clash { .. }), "{e}");
        // The same file matched by two globs is one asset.
        let got = collect(dir.path(), &["a/*.zip".into(), "a/app.*".into()]).unwrap();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn checksums_file_is_reserved_and_sha256sum_compatible() {
        let dir = tree(&[("dist/SHA256SUMS", "x")]);
        let e = collect(dir.path(), &["dist/*".into()]).unwrap_err();
        assert!(matches!(e, AssetError::Reserved { .. }));
        let mut m = BTreeMap::new();
        m.insert("b.zip".to_string(), "bb".to_string());
        m.insert("a.zip".to_string(), "aa".to_string());
        assert_eq!(checksums(&m), "aa  a.zip\nbb  b.zip\n");
    }
}
