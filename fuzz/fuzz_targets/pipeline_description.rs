//! The declarative pipeline description (the datasource's `pipeline` setting or a query's),
//! as JSON or as the text a user pasted, then the lookups the topology makes in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_backend::topology::description::PipelineDescription;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Both forms the setting may take: an object, or a string holding one.
    let values = [
        serde_json::from_str::<serde_json::Value>(text).ok(),
        Some(serde_json::Value::String(text.to_string())),
    ];
    for value in values.into_iter().flatten() {
        if let Ok(d) = PipelineDescription::parse(&value) {
            let _ = d.for_job("00000000000000000000000000000000", "orders-enrichment");
            let _ = d.for_job("", "");
        }
    }
});
