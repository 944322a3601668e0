//! Fuzz target `decode_line`: one line of the wire format, decoded as an [`Event`] and as a
//! [`Submission`].
//!
//! Oracles, beyond "never panics, never hangs":
//! - round trip: what decodes re-encodes with serde_json to a single line (no `\n`), that line
//!   decodes to an equal value, and that value encodes to the very same line;
//! - key order: the same object with its keys sorted decodes to the same result. `EventMsg`
//!   has a hand-written fast path (`type` first) and a buffering slow path; they must agree;
//! - a decoding error renders its message (the slow path that finds the failing field runs).
//!
//! Built and run by `cargo xtask fuzz` on stable Rust; see `fuzz/README.md`.

#![no_main]

use std::collections::BTreeSet;
use std::fmt;
use std::fmt::Debug;
use std::path::PathBuf;

use delegate_protocol::DecodeError;
use delegate_protocol::Event;
use delegate_protocol::Submission;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::Deserializer;
use serde::Serialize;
use serde::de::MapAccess;
use serde::de::SeqAccess;
use serde::de::Visitor;
use serde_json::Map;
use serde_json::Value;

fuzz_target!(|line: &[u8]| {
    round_trip(line, Event::from_json_slice);
    round_trip(line, Submission::from_json_slice);
    if let Ok(Distinct(value)) = serde_json::from_slice::<Distinct>(line) {
        // serde_json's `Map` is a BTreeMap here, so this writes every object's keys sorted.
        let sorted = value.to_string();
        same_in_any_key_order(line, sorted.as_bytes(), Event::from_json_slice);
        same_in_any_key_order(line, sorted.as_bytes(), Submission::from_json_slice);
    }
});

type Decode<T> = fn(&[u8]) -> Result<T, DecodeError>;

/// Decode `line`; on success check the round trip, on failure render the error.
fn round_trip<T: Serialize + PartialEq + Debug>(line: &[u8], decode: Decode<T>) {
    let value = match decode(line) {
        Ok(value) => value,
        Err(err) => {
            std::hint::black_box(err.to_string());
            return;
        }
    };
    let encoded = match serde_json::to_string(&value) {
        Ok(encoded) => encoded,
        Err(err) => panic!("decoded value does not encode: {err}\nvalue: {value:?}"),
    };
    assert!(!encoded.contains('\n'), "encoded line contains a newline: {encoded:?}");
    let again = match decode(encoded.as_bytes()) {
        Ok(again) => again,
        Err(err) => panic!(
            "re-encoded line does not decode: {err}\ninput:   {:?}\nencoded: {encoded}",
            String::from_utf8_lossy(line)
        ),
    };
    assert_eq!(
        value,
        again,
        "round trip changed the value\ninput:   {:?}\nencoded: {encoded}",
        String::from_utf8_lossy(line)
    );
    let encoded_again = serde_json::to_string(&again).unwrap_or_default();
    assert_eq!(encoded, encoded_again, "encoding is not stable across a round trip");
}

/// `line` and `sorted` (the same JSON, keys reordered) must both fail, or decode equal.
fn same_in_any_key_order<T: PartialEq + Debug>(line: &[u8], sorted: &[u8], decode: Decode<T>) {
    let show = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match (decode(line), decode(sorted)) {
        (Ok(a), Ok(b)) => assert_eq!(
            a,
            b,
            "key order changed the value\ninput:  {:?}\nsorted: {:?}",
            show(line),
            show(sorted)
        ),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "key order changed whether the line decodes\ninput:  {:?} -> {a:?}\nsorted: {:?} -> {b:?}",
            show(line),
            show(sorted)
        ),
    }
}

/// A JSON value in which no object has two keys that are equal, either as strings or as paths.
///
/// Repeated keys make "the same object" ambiguous (serde_json keeps the last, a derived struct
/// refuses, the `EventMsg` fast path takes the first `type`), so such lines are left to the
/// round-trip oracle. Keys equal only as paths (`a/b` and `a//b/`) are the known issue of the
/// `BTreeMap<PathBuf, FileChange>` in patch events: `PathBuf` compares by components, so the
/// map keeps one entry, with the first key and the last value, and which survives depends on
/// key order. Skipping them keeps this oracle looking for other order dependences; drop that
/// check once decoding refuses such maps.
struct Distinct(Value);

impl<'de> Deserialize<'de> for Distinct {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DistinctVisitor).map(Distinct)
    }
}

struct DistinctVisitor;

impl<'de> Visitor<'de> for DistinctVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without repeated keys")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Distinct(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        use serde::de::Error as _;
        let mut object = Map::new();
        let mut as_paths = BTreeSet::new();
        while let Some((key, Distinct(value))) = map.next_entry::<String, Distinct>()? {
            if !as_paths.insert(PathBuf::from(&key)) || object.insert(key, value).is_some() {
                return Err(A::Error::custom("an object repeats a key"));
            }
        }
        Ok(Value::Object(object))
    }
}
