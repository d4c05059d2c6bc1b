//! The artifact a deploy ran: an image reference split into repository, tag and digest, so
//! that what staging proved can be named exactly (`repository@sha256:…`) and compared.
//!
//! Pure text; the providers say which artifact they ran, the gate compares them.

use serde::Serialize;

/// A docker image reference, `[registry/]repository[:tag][@digest]`, split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageName {
    /// Registry and path, e.g. `registry.fly.io/web-staging`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:…`
    pub digest: Option<String>,
}

impl ImageName {
    pub fn parse(image: &str) -> ImageName {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (image, None),
        };
        // A tag's colon comes after the last `/` (a registry port's comes before it).
        let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (repository, tag) = match rest[slash..].rfind(':') {
            Some(i) => (
                rest[..slash + i].to_string(),
                Some(rest[slash + i + 1..].to_string()),
            ),
            None => (rest.to_string(), None),
        };
        ImageName {
            repository,
            tag,
            digest,
        }
    }

    /// `repository:tag` (no digest), for people.
    pub fn tagged(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}:{t}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// The same repository at `digest`.
    pub fn at(&self, digest: &str) -> String {
        format!("{}@{digest}", self.repository)
    }
}

/// A docker image reference (distribution's grammar): `[host[:port]/]path[:tag][@digest]`.
pub fn is_image_reference(s: &str) -> bool {
    static REFERENCE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?/)?",
            r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*",
            r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
        ))
        .expect("static regex")
    });
    REFERENCE.is_match(s)
}

/// Whether `s` is a content digest as registries spell it (`sha256:` and 64 hex digits).
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The first digest a text names (`… sha256:<64 hex> …`).
pub fn find_digest(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find("sha256:") {
        let cand = &rest[i..];
        let end = cand
            .char_indices()
            .skip(7)
            .find(|(_, c)| !c.is_ascii_hexdigit())
            .map(|(j, _)| j)
            .unwrap_or(cand.len());
        if is_digest(&cand[..end]) {
            return Some(cand[..end].to_string());
        }
        rest = &rest[i + 7..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn splits_repository_tag_and_digest() {
        let n = ImageName::parse("registry.fly.io/web:v1.2.3");
        assert_eq!(n.repository, "registry.fly.io/web");
        assert_eq!(n.tag.as_deref(), Some("v1.2.3"));
        assert_eq!(n.digest, None);
        let n = ImageName::parse(&format!("localhost:5000/acme/web:1@{D}"));
        assert_eq!(n.repository, "localhost:5000/acme/web");
        assert_eq!(n.tag.as_deref(), Some("1"));
        assert_eq!(n.digest.as_deref(), Some(D));
        assert_eq!(n.at(D), format!("localhost:5000/acme/web@{D}"));
        let n = ImageName::parse("localhost:5000/web");
        assert_eq!((n.repository.as_str(), n.tag), ("localhost:5000/web", None));
        assert_eq!(ImageName::parse("nginx").tagged(), "nginx");
    }

    #[test]
    fn finds_a_digest_in_a_status_text() {
        assert_eq!(
            find_digest(&format!("deployed 1.0.0 ({D})")).as_deref(),
            Some(D)
        );
        assert_eq!(find_digest("sha256:abc and no more"), None);
        assert!(is_digest(D) && !is_digest("sha256:12"));
    }
}
