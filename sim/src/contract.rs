//! Checking JSON against an OpenAPI 3.0 document: for contract tests of the simulators'
//! answers and of the requests stage-gate's clients send (both directions of the contract).
//!
//! A deliberately small checker for what the vendor documents use: `$ref`, `allOf`, `type`,
//! `enum`, `items`, `properties`, `additionalProperties`, `required`. A field the schema does
//! not declare is a problem (when the schema lists properties); `null` is accepted anywhere,
//! as Go servers write it for empty pointers and slices.

use serde_json::Value;

/// Follow `$ref` (`#/components/schemas/X`) to the schema it names.
pub fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            match spec.pointer(pointer) {
                Some(target) => resolve(spec, target),
                None => schema,
            }
        }
        None => schema,
    }
}

/// Every way `value` departs from `schema`, as `path: problem` lines (empty = conforms).
pub fn problems(spec: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(spec, schema, value, at, &mut out);
    out
}

fn check(spec: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(spec, s, value, at, out);
        }
    }
    if value.is_null() {
        return;
    }
    let ty = schema["type"].as_str();
    let ok = match ty {
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        _ => true,
    };
    if !ok {
        out.push(format!("{at}: expected {}, got {value}", ty.unwrap_or("?")));
        return;
    }
    if let (Some(options), Some(s)) = (schema["enum"].as_array(), value.as_str()) {
        if !options.iter().any(|o| o == s) {
            out.push(format!("{at}: {s:?} is not one of {options:?}"));
        }
    }
    if let Some(items) = schema.get("items") {
        for (i, v) in value.as_array().into_iter().flatten().enumerate() {
            check(spec, items, v, &format!("{at}[{i}]"), out);
        }
    }
    let Some(obj) = value.as_object() else {
        return;
    };
    for req in schema["required"].as_array().into_iter().flatten() {
        if let Some(k) = req.as_str() {
            if !obj.contains_key(k) {
                out.push(format!("{at}: required field {k} missing"));
            }
        }
    }
    let props = schema["properties"].as_object();
    let extra = schema.get("additionalProperties");
    for (k, v) in obj {
        let here = format!("{at}.{k}");
        match (props.and_then(|p| p.get(k)), extra) {
            (Some(p), _) => check(spec, p, v, &here, out),
            (None, Some(Value::Object(_))) => {
                check(spec, &schema["additionalProperties"], v, &here, out)
            }
            (None, _) if props.is_some() && schema["allOf"].is_null() => {
                out.push(format!("{at}: field {k} is not in the spec"))
            }
            _ => {}
        }
    }
}

/// The spec path template matching a concrete path (`/v1/apps/a/machines/m` →
/// `/v1/apps/{app_name}/machines/{machine_id}`) for which `method` is an operation, and that
/// operation.
pub fn operation<'a>(spec: &'a Value, method: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let want: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    spec["paths"]
        .as_object()?
        .iter()
        .find_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let same = parts.len() == want.len()
                && parts.iter().zip(&want).all(|(t, w)| {
                    (t.starts_with('{') && t.ends_with('}') && !w.is_empty()) || t == w
                });
            let op = &item[method.to_ascii_lowercase()];
            (same && op.is_object()).then_some((template.as_str(), op))
        })
}

/// The JSON schema of an operation's request body, if it declares one.
pub fn request_schema(op: &Value) -> Option<&Value> {
    let s = &op["requestBody"]["content"]["application/json"]["schema"];
    (!s.is_null()).then_some(s)
}

/// The JSON schema of an operation's answer with `status`, if it declares one.
pub fn response_schema<'a>(op: &'a Value, status: &str) -> Option<&'a Value> {
    let s = &op["responses"][status]["content"]["application/json"]["schema"];
    (!s.is_null()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({
            "paths": {
                "/v1/apps/{app}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/App"}}}}}}},
                "/v1/apps/{app}/machines": {"post": {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}}
            },
            "components": {"schemas": {
                "App": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"},
                    "state": {"type": "string", "enum": ["a", "b"]},
                    "tags": {"type": "array", "items": {"type": "integer"}},
                    "env": {"type": "object", "additionalProperties": {"type": "string"}}
                }}
            }}
        })
    }

    #[test]
    fn finds_operations_by_concrete_path() {
        let s = spec();
        assert_eq!(
            operation(&s, "GET", "/v1/apps/web").map(|o| o.0),
            Some("/v1/apps/{app}")
        );
        assert_eq!(
            operation(&s, "POST", "/v1/apps/web/machines").map(|o| o.0),
            Some("/v1/apps/{app}/machines")
        );
        assert!(operation(&s, "DELETE", "/v1/apps/web").is_none());
        assert!(operation(&s, "GET", "/v1/apps/web/nope").is_none());
    }

    #[test]
    fn reports_type_enum_required_and_unknown_fields() {
        let s = spec();
        let schema = json!({"$ref": "#/components/schemas/App"});
        assert!(problems(
            &s,
            &schema,
            &json!({"name": "x", "tags": [1], "env": {"A": "1"}, "state": null}),
            "App"
        )
        .is_empty());
        let bad = problems(
            &s,
            &schema,
            &json!({"state": "c", "tags": ["x"], "env": {"A": 1}, "extra": 1}),
            "App",
        );
        assert_eq!(bad.len(), 5, "{bad:?}");
        assert!(bad.iter().any(|p| p.contains("required field name")));
        assert!(bad.iter().any(|p| p.contains("\"c\" is not one of")));
        assert!(bad
            .iter()
            .any(|p| p.contains("App.tags[0]: expected integer")));
        assert!(bad.iter().any(|p| p.contains("App.env.A: expected string")));
        assert!(bad
            .iter()
            .any(|p| p.contains("field extra is not in the spec")));
    }
}
