//! Decoding of the Arrow IPC frames a Grafana backend plugin answers with, into plain values a
//! test can assert on. Uses the `arrow` crates, independent of the SDK's own encoder.

use std::collections::HashMap;
use std::io::Cursor;

use arrow_array::{cast::AsArray, types::*, Array, RecordBatch};
use arrow_ipc::reader::FileReader;
use arrow_schema::{DataType, TimeUnit};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct DecodedField {
    pub name: String,
    /// Grafana's field type for the Arrow type: "string", "number", "boolean" or "time".
    pub grafana_type: &'static str,
    /// Grafana field config (`displayName`, `unit`, `links`, ...), or `Null`.
    pub config: Value,
    pub labels: Value,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct DecodedFrame {
    pub name: String,
    pub ref_id: String,
    /// Frame metadata (`preferredVisualisationType`, `custom`, ...), or `Null`.
    pub meta: Value,
    pub fields: Vec<DecodedField>,
}

impl DecodedFrame {
    pub fn field(&self, name: &str) -> &DecodedField {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "frame {} has no field {name}; fields: {:?}",
                    self.name,
                    self.fields.iter().map(|f| &f.name).collect::<Vec<_>>()
                )
            })
    }

    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.name == name)
    }

    pub fn len(&self) -> usize {
        self.fields.first().map(|f| f.values.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` as a map from field name to value.
    pub fn row(&self, i: usize) -> HashMap<String, Value> {
        self.fields
            .iter()
            .map(|f| (f.name.clone(), f.values[i].clone()))
            .collect()
    }

    /// The first row whose `key` field equals `value`.
    pub fn find_row(&self, key: &str, value: &str) -> Option<HashMap<String, Value>> {
        let col = self.field(key);
        col.values
            .iter()
            .position(|v| v.as_str() == Some(value))
            .map(|i| self.row(i))
    }
}

/// Decode one frame: Arrow IPC file bytes as Grafana's plugin protocol carries them.
pub fn decode_frame(bytes: &[u8]) -> DecodedFrame {
    let reader =
        FileReader::try_new(Cursor::new(bytes.to_vec()), None).expect("frame is an Arrow IPC file");
    let schema = reader.schema();
    let meta = schema.metadata();
    let parse = |s: Option<&String>| {
        s.and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null)
    };
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("record batch")).collect();
    let fields = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| DecodedField {
            name: f.name().clone(),
            grafana_type: grafana_type(f.data_type()),
            config: parse(f.metadata().get("config")),
            labels: parse(f.metadata().get("labels")),
            values: batches
                .iter()
                .flat_map(|b| column_values(b.column(i).as_ref()))
                .collect(),
        })
        .collect();
    DecodedFrame {
        name: meta.get("name").cloned().unwrap_or_default(),
        ref_id: meta.get("refId").cloned().unwrap_or_default(),
        meta: parse(meta.get("meta")),
        fields,
    }
}

fn grafana_type(t: &DataType) -> &'static str {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 => "string",
        DataType::Boolean => "boolean",
        DataType::Timestamp(..) => "time",
        _ => "number",
    }
}

fn column_values(a: &dyn Array) -> Vec<Value> {
    (0..a.len())
        .map(|i| {
            if a.is_null(i) {
                return Value::Null;
            }
            match a.data_type() {
                DataType::Utf8 => Value::from(a.as_string::<i32>().value(i)),
                DataType::LargeUtf8 => Value::from(a.as_string::<i64>().value(i)),
                DataType::Boolean => Value::from(a.as_boolean().value(i)),
                DataType::Int8 => Value::from(a.as_primitive::<Int8Type>().value(i)),
                DataType::Int16 => Value::from(a.as_primitive::<Int16Type>().value(i)),
                DataType::Int32 => Value::from(a.as_primitive::<Int32Type>().value(i)),
                DataType::Int64 => Value::from(a.as_primitive::<Int64Type>().value(i)),
                DataType::UInt8 => Value::from(a.as_primitive::<UInt8Type>().value(i)),
                DataType::UInt16 => Value::from(a.as_primitive::<UInt16Type>().value(i)),
                DataType::UInt32 => Value::from(a.as_primitive::<UInt32Type>().value(i)),
                DataType::UInt64 => Value::from(a.as_primitive::<UInt64Type>().value(i)),
                DataType::Float32 => Value::from(a.as_primitive::<Float32Type>().value(i) as f64),
                DataType::Float64 => Value::from(a.as_primitive::<Float64Type>().value(i)),
                // Times become epoch milliseconds.
                DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                    Value::from(a.as_primitive::<TimestampNanosecondType>().value(i) / 1_000_000)
                }
                DataType::Timestamp(TimeUnit::Microsecond, _) => {
                    Value::from(a.as_primitive::<TimestampMicrosecondType>().value(i) / 1_000)
                }
                DataType::Timestamp(TimeUnit::Millisecond, _) => {
                    Value::from(a.as_primitive::<TimestampMillisecondType>().value(i))
                }
                other => panic!("frame decoder does not handle Arrow type {other:?} yet"),
            }
        })
        .collect()
}
