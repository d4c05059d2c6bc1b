//! GitHub's answers shared by every handler: `basic-error` and `validation-error` bodies,
//! 201 with `Location`, JSON body parsing, and `Link` paging.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(crate) const DOCS: &str = "https://docs.github.com/rest";

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// `basic-error`.
pub(crate) fn error(status: StatusCode, message: &str, docs: &str) -> Response {
    json_response(
        status,
        json!({"message": message, "documentation_url": docs, "status": status.as_u16().to_string()}),
    )
}

pub(crate) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", DOCS)
}

/// `validation-error` with one entry.
pub(crate) fn invalid(resource: &str, field: &str, code: &str, message: Option<&str>) -> Response {
    let mut entry = json!({"resource": resource, "field": field, "code": code});
    if let Some(m) = message {
        entry["message"] = m.into();
    }
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": "Validation Failed", "errors": [entry], "documentation_url": DOCS}),
    )
}

/// A 422 with only a message, as GitHub answers for refs and dispatches (`validation-error`
/// shape: no `status` field, which only `basic-error` declares).
pub(crate) fn unprocessable(message: &str) -> Response {
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": message, "documentation_url": DOCS}),
    )
}

/// Parse a JSON request body the way GitHub does: 400 "Problems parsing JSON" otherwise.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "Problems parsing JSON",
            DOCS,
        )),
    }
}

/// A 201 with a `Location` header.
pub(crate) fn created(location: &str, body: Value) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert("location", v);
    }
    response
}

pub(crate) fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default()
}

/// One page of `items`, with GitHub's `Link` header (`next`, `last`, `prev`, `first`).
pub(crate) fn paged(
    items: Vec<Value>,
    query: &BTreeMap<String, String>,
    base: &str,
    path: &str,
) -> Response {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let link_to = |n: usize| {
        let mut q = query.clone();
        q.insert("per_page".into(), per_page.to_string());
        q.insert("page".into(), n.to_string());
        let qs: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("<{base}{path}?{}>", qs.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let mut response = json_response(StatusCode::OK, Value::Array(slice));
    if !links.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
            response.headers_mut().insert("link", v);
        }
    }
    response
}

/// Percent-encode a query component (RFC 3986 unreserved characters kept).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
