//! The provider's cookies for one flow (PingOne's `ST`, PingFederate's rotating `PF` and
//! `PF.PERSISTENT`). Kept server-side in the flow record, and after sign-in in the session,
//! so that sign-out can end the provider session; never sent to the browser.

use serde::{Deserialize, Serialize};

/// Cookies kept per flow at most, and the longest name plus value kept.
const MAX_COOKIES: usize = 8;
const MAX_COOKIE_BYTES: usize = 1024;

/// `name=value` pairs, in the order first set. Domain and path are not tracked: every
/// cookie goes back to the provider it came from (the flow only calls the provider's
/// origin), which is what PingOne's `Path=/<envId>` and PingFederate's `Path=/` amount to.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Jar(Vec<(String, String)>);

impl Jar {
    /// Applies the answer's `Set-Cookie`s: a new value replaces the old (PingFederate
    /// rotates `PF` on every answer), an empty value or `Max-Age=0` removes it.
    pub(crate) fn update<'a>(&mut self, set_cookies: impl IntoIterator<Item = &'a str>) {
        for header in set_cookies {
            let mut parts = header.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
            let valid_value = value
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',');
            if !valid_name || !valid_value || name.len() + value.len() > MAX_COOKIE_BYTES {
                continue;
            }
            let removed = value.is_empty()
                || parts.any(|attribute| {
                    let attribute = attribute.trim().to_ascii_lowercase();
                    attribute == "max-age=0"
                        || attribute.starts_with("max-age=-")
                        || (attribute.starts_with("expires=") && attribute.contains("1970"))
                });
            self.0.retain(|(kept, _)| kept != name);
            if !removed && self.0.len() < MAX_COOKIES {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// The `Cookie` header to send, if any cookie is held.
    pub(crate) fn header(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        Some(pairs.join("; "))
    }

    /// The names held (for tests and logs; never the values).
    #[cfg(test)]
    pub(crate) fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }
}

impl std::fmt::Debug for Jar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_replacement_and_removal() {
        let mut jar = Jar::default();
        jar.update([
            "PF=one; Path=/; HttpOnly",
            "PF.PERSISTENT=keep; Path=/; Max-Age=31536000",
        ]);
        assert_eq!(jar.header().as_deref(), Some("PF=one; PF.PERSISTENT=keep"));
        jar.update(["PF=two; Path=/; HttpOnly"]);
        assert_eq!(jar.header().as_deref(), Some("PF.PERSISTENT=keep; PF=two"));
        jar.update(["PF=; Path=/; Max-Age=0", "PF.PERSISTENT=x; Max-Age=0"]);
        assert_eq!(jar.header(), None);
        jar.update(["bad name=x", "ok=va;lue", "=x", "ST=abc"]);
        assert_eq!(jar.names(), vec!["ok", "ST"]);
        assert!(!format!("{jar:?}").contains("abc"));
    }

    #[test]
    fn bounded() {
        let mut jar = Jar::default();
        let many: Vec<String> = (0..20).map(|i| format!("c{i}=v")).collect();
        jar.update(many.iter().map(String::as_str));
        assert_eq!(jar.names().len(), MAX_COOKIES);
        let long = format!("big={}", "x".repeat(2000));
        jar.update([long.as_str()]);
        assert!(!jar.names().contains(&"big"));
    }
}
