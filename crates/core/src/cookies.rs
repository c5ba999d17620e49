//! Cookie header parsing and `Set-Cookie` formatting.
//!
//! Core writes these by hand instead of depending on the `cookie` crate, so that neither
//! adapter's users get a second `cookie` major version (actix-web pins its own).

use crate::config::SameSite;

/// The value of the first cookie called `name` in the request's `Cookie` header values.
pub(crate) fn find<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    cookie_headers
        .into_iter()
        .find_map(|header| find_in_header(header, name))
}

/// One `Cookie` header: `name=value` pairs separated by `;` (RFC 6265 section 4.2.1), with
/// optional whitespace around them and an optional pair of quotes around the value.
fn find_in_header<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = header;
    while !rest.is_empty() {
        let (pair, after) = split_at_byte(rest, b';').unwrap_or((rest, ""));
        if let Some((key, value)) = split_at_byte(pair, b'=') {
            if key.trim_ascii() == name {
                let value = value.trim_ascii();
                let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                return Some(unquoted.unwrap_or(value));
            }
        }
        rest = after;
    }
    None
}

/// Every `name=value` pair of the request's `Cookie` headers, in order (values unquoted).
pub(crate) fn pairs<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    cookie_headers.into_iter().flat_map(|header| {
        header.split(';').filter_map(|pair| {
            let (key, value) = split_at_byte(pair, b'=')?;
            let value = value.trim_ascii();
            let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
            Some((key.trim_ascii(), unquoted.unwrap_or(value)))
        })
    })
}

/// `text` split around the first `byte` (ASCII), found a vector at a time.
pub(crate) fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    let at = memchr::memchr(byte, text.as_bytes())?;
    // An ASCII byte in UTF-8 text is always a char boundary.
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// Attributes for one `Set-Cookie`.
pub(crate) struct CookieSpec<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub path: &'a str,
    pub max_age: Option<u64>,
    pub secure: bool,
    pub same_site: SameSite,
}

impl CookieSpec<'_> {
    pub(crate) fn render(&self) -> String {
        let mut out = format!("{}={}; Path={}; HttpOnly", self.name, self.value, self.path);
        if let Some(age) = self.max_age {
            out.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str(match self.same_site {
            SameSite::Lax => "; SameSite=Lax",
            SameSite::Strict => "; SameSite=Strict",
        });
        out
    }
}

/// `Set-Cookie` that removes a cookie set with the same name and path.
pub(crate) fn removal(name: &str, path: &str, secure: bool) -> String {
    let mut out =
        format!("{name}=; Path={path}; HttpOnly; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    if secure {
        out.push_str("; Secure");
    }
    out.push_str("; SameSite=Lax");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookies_across_headers() {
        let headers = ["a=1; b=2", "c=3;  ping_oidc=xyz.tag "];
        assert_eq!(find(headers, "ping_oidc"), Some("xyz.tag"));
        assert_eq!(find(headers, "b"), Some("2"));
        assert_eq!(find(headers, "d"), None);
        assert_eq!(find(["nonsense"], "nonsense"), None);
        // Whitespace around pairs, quoted values, empty pairs, `=` inside values.
        let headers = [" ;a = \"q\" ;; b=x=y;c=\"half;  d= ;e"];
        assert_eq!(find(headers, "a"), Some("q"));
        assert_eq!(find(headers, "b"), Some("x=y"));
        assert_eq!(find(headers, "c"), Some("\"half"));
        assert_eq!(find(headers, "d"), Some(""));
        assert_eq!(find(headers, "e"), None);
        assert_eq!(find(["é=1; ping_oidc=ü"], "ping_oidc"), Some("ü"));
        assert_eq!(find([""], "a"), None);
    }

    #[test]
    fn renders_attributes() {
        let rendered = CookieSpec {
            name: "n",
            value: "v",
            path: "/",
            max_age: Some(60),
            secure: true,
            same_site: SameSite::Lax,
        }
        .render();
        assert_eq!(
            rendered,
            "n=v; Path=/; HttpOnly; Max-Age=60; Secure; SameSite=Lax"
        );
        assert!(removal("n", "/auth", false).contains("Max-Age=0"));
    }
}
