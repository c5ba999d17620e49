//! [`Claims`]: the user's claims, a read-only JSON object kept small.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The user's claims: the ID token's and userinfo's, merged. A read-only JSON object.
///
/// ```
/// # use ping_oidc::Claims;
/// let claims: Claims = serde_json::from_str(r#"{"sub":"u1","email":"a@example.com","amr":["pwd"]}"#).unwrap();
/// assert_eq!(claims.get_str("email"), Some("a@example.com"));
/// assert_eq!(claims.get("amr").and_then(|v| v[0].as_str()), Some("pwd"));
/// for (name, value) in &claims {
///     println!("{name}: {value}");
/// }
/// assert_eq!(serde_json::to_string(&claims).unwrap(), r#"{"amr":["pwd"],"email":"a@example.com","sub":"u1"}"#);
/// ```
///
/// Every session holds one, so it is stored as one sorted slice of values and one string of
/// names rather than a `serde_json::Map` (a B-tree: about 2 KB of nodes for fifteen claims
/// before any text).
/// Look-ups are binary searches; iteration is in name order, like a `Map`'s. Serializes as a
/// JSON object; [`Claims::to_map`] gives a `Map` when one is needed.
#[derive(Clone, Default, PartialEq)]
pub struct Claims {
    /// Every name, one after another, in order: one allocation instead of one per name.
    names: Box<str>,
    /// Sorted by name; names unique. Entry `i`'s name ends at its `name_end` and starts at
    /// the previous entry's.
    entries: Box<[Entry]>,
}

#[derive(Clone, PartialEq)]
struct Entry {
    name_end: usize,
    value: Value,
}

impl Claims {
    /// The claim called `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let (mut low, mut high) = (0, self.entries.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.name(middle).cmp(name) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(&self.entries[middle].value),
            }
        }
        None
    }

    fn name(&self, at: usize) -> &str {
        let start = match at {
            0 => 0,
            _ => self.entries[at - 1].name_end,
        };
        self.names
            .get(start..self.entries[at].name_end)
            .unwrap_or_default()
    }

    /// The claim called `name`, when it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Whether there is a claim called `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// How many claims there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Names and values, in name order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            claims: self,
            next: 0,
        }
    }

    /// A `serde_json::Map` with the same claims.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    /// These claims with `more` added; a name already present takes the value from `more`.
    pub(crate) fn merged(&self, more: impl IntoIterator<Item = (String, Value)>) -> Self {
        let pairs = self
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .chain(more);
        Self::from_pairs(pairs.collect())
    }

    /// Sorts by name; for a repeated name, the last value wins (as when inserting into a map).
    fn from_pairs(mut pairs: Vec<(String, Value)>) -> Self {
        // Stable: equal names keep their order, so the last one is the latest.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(String, Value)> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            match unique.last_mut() {
                Some(last) if last.0 == name => last.1 = value,
                _ => unique.push((name, value)),
            }
        }
        let mut names = String::with_capacity(unique.iter().map(|(name, _)| name.len()).sum());
        let entries = unique
            .into_iter()
            .map(|(name, mut value)| {
                names.push_str(&name);
                shrink(&mut value);
                Entry {
                    name_end: names.len(),
                    value,
                }
            })
            .collect();
        Self {
            names: names.into_boxed_str(),
            entries,
        }
    }
}

/// Drops spare capacity (a parsed one-element array keeps room for four): claims live as
/// long as their session.
fn shrink(value: &mut Value) {
    match value {
        Value::String(text) => text.shrink_to_fit(),
        Value::Array(items) => {
            items.iter_mut().for_each(shrink);
            items.shrink_to_fit();
        }
        Value::Object(map) => map.values_mut().for_each(shrink),
        _ => {}
    }
}

impl From<Map<String, Value>> for Claims {
    fn from(map: Map<String, Value>) -> Self {
        map.into_iter().collect()
    }
}

impl FromIterator<(String, Value)> for Claims {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(pairs: I) -> Self {
        Self::from_pairs(pairs.into_iter().collect())
    }
}

/// Iterator over [`Claims`]: `(name, value)` in name order.
#[derive(Clone)]
pub struct Iter<'a> {
    claims: &'a Claims,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.claims.entries.get(self.next)?;
        let name = self.claims.name(self.next);
        self.next += 1;
        Some((name, &entry.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.claims.entries.len() - self.next;
        (left, Some(left))
    }
}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("left", &self.len()).finish()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Claims {
    type Item = (&'a str, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::ops::Index<&str> for Claims {
    type Output = Value;

    /// The claim, or `Value::Null` when absent (as indexing a `serde_json::Value` does).
    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ClaimsVisitor;

        impl<'de> Visitor<'de> for ClaimsVisitor {
            type Value = Claims;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Claims, A::Error> {
                // The size hint comes from the input: capped, so it cannot reserve much.
                let mut pairs = Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = access.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(Claims::from_pairs(pairs))
            }
        }

        deserializer.deserialize_map(ClaimsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        serde_json::from_value(value).expect("an object")
    }

    #[test]
    fn looks_up_iterates_and_serializes_like_a_map() {
        let source = json!({"sub": "u1", "name": "Ada", "amr": ["pwd"], "iat": 5, "z": null});
        let parsed = claims(source.clone());
        let map = source.as_object().cloned().unwrap_or_default();
        assert_eq!(parsed.len(), 5);
        assert_eq!(parsed.get("name"), Some(&json!("Ada")));
        assert_eq!(parsed.get_str("sub"), Some("u1"));
        assert_eq!(parsed.get_str("iat"), None);
        assert!(parsed.contains_key("z"));
        assert!(!parsed.contains_key("missing"));
        assert_eq!(parsed["missing"], Value::Null);
        assert_eq!(parsed.to_map(), map);
        let names: Vec<&str> = parsed.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["amr", "iat", "name", "sub", "z"]);
        assert_eq!(serde_json::to_value(&parsed).ok(), Some(source));
        assert_eq!(Claims::from(map), parsed);
    }

    #[test]
    fn a_repeated_name_keeps_the_last_value() {
        let parsed: Claims = serde_json::from_str(r#"{"a":1,"b":2,"a":3}"#).expect("object");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed["a"], json!(3));
        let merged = parsed.merged([("b".to_string(), json!(20)), ("c".to_string(), json!(30))]);
        assert_eq!(
            serde_json::to_value(&merged).ok(),
            Some(json!({"a": 3, "b": 20, "c": 30}))
        );
    }

    #[test]
    fn only_objects_are_claims() {
        for bad in ["[]", "\"x\"", "1", "null", "{\"a\":}"] {
            assert!(serde_json::from_str::<Claims>(bad).is_err(), "{bad}");
        }
        assert!(claims(json!({})).is_empty());
    }
}
