//! The JSON Schema of the config, generated from the raw types. Committed as
//! `stage-gate.schema.json`; a test fails when the committed copy drifts.

pub fn json_schema() -> String {
    // Printed from the schema itself: its key order, not a JSON map's sorted one.
    let schema = schemars::schema_for!(super::raw::RawConfig);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema as a JSON value (what the unknown-key walk reads).
pub fn json_value() -> serde_json::Value {
    schemars::schema_for!(super::raw::RawConfig).to_value()
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/stage-gate.schema.json");
        let current = super::json_schema();
        if std::env::var_os("STAGE_GATE_BLESS").is_some() {
            std::fs::write(path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == current,
            "stage-gate.schema.json is out of date: run `STAGE_GATE_BLESS=1 cargo test committed_schema` and commit it"
        );
    }
}
