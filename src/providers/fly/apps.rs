//! The Machines API above machines: apps (look up, create, list by organisation, delete),
//! app secrets and public addresses — what a preview per pull request needs
//! (fly-go `flaps/flaps_apps.go`, `flaps_secrets.go`, `flaps_ip_assignments.go`; the paths
//! are in `tests/fixtures/specs/fly-machines.openapi.json`).

use super::api::Api;
use crate::http::HttpError;
use crate::providers::ProviderError;
use crate::secret::Secret;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// An app as `GET /v1/apps/{app}` describes it (the parts we read).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FlyApp {
    pub name: String,
    #[serde(default)]
    pub organization: Option<Organization>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Organization {
    #[serde(default)]
    pub slug: String,
}

impl FlyApp {
    pub(crate) fn org(&self) -> &str {
        self.organization.as_ref().map_or("", |o| o.slug.as_str())
    }
}

/// An app of an organisation's list.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ListedApp {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IpAssignment {
    pub ip: String,
}

/// One app secret as the API lists it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AppSecret {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) digest: String,
    #[serde(default)]
    pub(crate) value: Option<String>,
}

/// What looking an app up found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Found(FlyApp),
    Missing,
    /// The name is held by an app the token cannot read: another organisation's (fly-go's
    /// `AppNameAvailable`: a 403 means taken).
    Elsewhere,
}

/// What asking for a new app answered.
#[derive(Debug)]
pub(crate) enum Creation {
    Created,
    /// `name_taken`: some app already has the name.
    NameTaken,
    /// The answer was lost after the API may have acted: look it up, never ask again.
    Ambiguous(HttpError),
}

/// What asking to delete an app answered.
#[derive(Debug)]
pub(crate) enum Deletion {
    Deleted,
    Missing,
    Ambiguous(HttpError),
}

impl Api {
    pub(crate) async fn lookup_app(&self) -> Result<Lookup, ProviderError> {
        match self
            .call_unclassified(Method::GET, &self.url(""), None, None, true)
            .await
        {
            Ok(v) => Ok(Lookup::Found(self.decode("app", v?)?)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Lookup::Missing),
            Err(e) if e.status() == Some(StatusCode::FORBIDDEN) => Ok(Lookup::Elsewhere),
            Err(e) => Err(super::api::classify(e)),
        }
    }

    /// `POST /v1/apps` in `org`, with `idempotency_key` (the Machines API document's
    /// `CreateAppRequest`): the same key and name asked again answers with the app the first
    /// request made, so a lost answer may be asked once more — and an app that answer names is
    /// provably ours.
    pub(crate) async fn create_app(&self, org: &str, key: &str) -> Result<Creation, ProviderError> {
        let body = json!({"name": self.app, "org_slug": org, "idempotency_key": key});
        match self
            .call_unclassified(
                Method::POST,
                &self.root_url("/apps"),
                None,
                Some(&body),
                false,
            )
            .await
        {
            Ok(v) => v.map(|_| Creation::Created),
            Err(e) if name_taken(&e) => Ok(Creation::NameTaken),
            Err(e) if e.is_ambiguous() => Ok(Creation::Ambiguous(e)),
            Err(e) => Err(org_refusal(e, org)),
        }
    }

    /// `DELETE /v1/apps/{app}`: the app with its machines, volumes, addresses and secrets.
    pub(crate) async fn delete_app(&self) -> Result<Deletion, ProviderError> {
        match self
            .call_unclassified(Method::DELETE, &self.url(""), None, None, false)
            .await
        {
            Ok(v) => v.map(|_| Deletion::Deleted),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Deletion::Missing),
            Err(e) if e.is_ambiguous() => Ok(Deletion::Ambiguous(e)),
            Err(e) => Err(super::api::classify(e)),
        }
    }

    /// Every app of `org`, page by page (`next_cursor`).
    pub(crate) async fn list_apps(&self, org: &str) -> Result<Vec<ListedApp>, ProviderError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            apps: Vec<ListedApp>,
            #[serde(default)]
            next_cursor: Option<String>,
        }
        let mut apps = Vec::new();
        let mut cursor: Option<String> = None;
        // A bound, so an API that always says "more" cannot loop us forever.
        for _ in 0..100 {
            let mut url = url::Url::parse(&self.root_url("/apps"))
                .map_err(|e| ProviderError::Config(format!("Fly API URL: {e}")))?;
            url.query_pairs_mut().append_pair("org_slug", org);
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("cursor", c);
            }
            let v = match self
                .call_unclassified(Method::GET, url.as_str(), None, None, true)
                .await
            {
                Ok(v) => v?,
                Err(e) => return Err(org_refusal(e, org)),
            };
            let page: Page = self.decode("app list", v)?;
            apps.extend(page.apps);
            match page.next_cursor.filter(|c| !c.is_empty()) {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(apps)
    }

    /// The value of app secret `name`, when it is set (`show_secrets=true`).
    pub(crate) async fn secret_value(&self, name: &str) -> Result<Option<String>, ProviderError> {
        #[derive(Deserialize)]
        struct AppSecret {
            #[serde(default)]
            value: Option<String>,
        }
        let url = self.url(&format!("/secrets/{name}?show_secrets=true"));
        match self
            .call_unclassified(Method::GET, &url, None, None, true)
            .await
        {
            Ok(v) => Ok(self.decode::<AppSecret>("app secret", v?)?.value),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(super::api::classify(e)),
        }
    }

    /// Set app secrets in one call; answers the secrets version machines must then see.
    /// Setting the same values again is harmless, so a lost answer may be asked again.
    pub(crate) async fn set_secrets(
        &self,
        values: &[(String, Secret)],
    ) -> Result<u64, ProviderError> {
        let mut map = Map::new();
        for (name, value) in values {
            map.insert(name.clone(), Value::String(value.expose().to_string()));
        }
        let body = json!({ "values": map });
        let v = self
            .delivering_secrets()
            .call(Method::POST, "/secrets", None, Some(&body), true)
            .await?;
        v["version"].as_u64().ok_or_else(|| {
            ProviderError::Other("the Fly API set the secrets but answered no `version`".into())
        })
    }

    /// The app's secrets: names, Fly's digests, and with `values` their values
    /// (`show_secrets=true`).
    pub(crate) async fn list_secrets(&self, values: bool) -> Result<Vec<AppSecret>, ProviderError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            secrets: Vec<AppSecret>,
        }
        let path = if values {
            "/secrets?show_secrets=true"
        } else {
            "/secrets"
        };
        let v = self.call(Method::GET, path, None, None, true).await?;
        Ok(self.decode::<List>("secret list", v)?.secrets)
    }

    pub(crate) async fn ip_assignments(&self) -> Result<Vec<IpAssignment>, ProviderError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            ips: Vec<IpAssignment>,
        }
        let v = self
            .call(Method::GET, "/ip_assignments", None, None, true)
            .await?;
        Ok(self.decode::<List>("address list", v)?.ips)
    }

    /// Assign a public address of `kind` (`v6`, `shared_v4`).
    pub(crate) async fn assign_ip(
        &self,
        kind: &str,
        org: &str,
    ) -> Result<IpAssignment, ProviderError> {
        let body = json!({"type": kind, "org_slug": org});
        let v = self
            .call(Method::POST, "/ip_assignments", None, Some(&body), false)
            .await?;
        self.decode("address", v)
    }
}

/// A refusal of an organisation-level call (create or list apps): a wrong `fly.org` is a
/// config mistake (exit 2), and previews need an organisation token, not a deploy token.
fn org_refusal(e: HttpError, org: &str) -> ProviderError {
    let token = format!(
        "previews create and delete apps, which needs an organisation token (`fly tokens \
         create org --org {org}`), not a deploy token (`fly tokens deploy` is scoped to one app)"
    );
    match e.status() {
        Some(StatusCode::FORBIDDEN) => ProviderError::Config(format!(
            "Fly refused organisation `{org}` ({e}): check `fly.org` (the slug `fly orgs \
             list` shows); {token}"
        )),
        Some(StatusCode::UNAUTHORIZED) => {
            ProviderError::Auth(format!("the Fly API refused the token ({e}); {token}"))
        }
        _ => super::api::classify(e),
    }
}

/// The API's `ErrorResponse.status` says the name is taken.
fn name_taken(e: &HttpError) -> bool {
    e.status().is_some_and(|s| s.is_client_error())
        && e.body().is_some_and(|b| {
            serde_json::from_str::<Value>(b)
                .ok()
                .is_some_and(|v| v["status"] == "name_taken")
                || b.contains("name_taken")
        })
}
