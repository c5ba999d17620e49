//! Cookie header parsing and `Set-Cookie` formatting.
//!
//! Core writes these by hand instead of depending on the `cookie` crate, so that neither
//! adapter's users get a second `cookie` major version (actix-web pins its own).

use crate::config::{Config, SameSite};

/// The value of the first cookie called `name` in the request's `Cookie` header values.
pub(crate) fn find<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    cookie_headers.into_iter().find_map(|header| {
        header.split(';').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.trim().trim_matches('"'))
        })
    })
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

/// The session cookie: `<session id>.<HMAC of the id>`.
pub(crate) fn session_cookie(config: &Config, session_id: &str) -> String {
    let value = format!(
        "{session_id}.{}",
        config.session_key.sign(session_id.as_bytes())
    );
    CookieSpec {
        name: &config.cookie_name,
        value: &value,
        path: "/",
        max_age: Some(config.absolute_lifetime.as_secs()),
        secure: config.cookie_secure,
        same_site: config.same_site,
    }
    .render()
}

pub(crate) fn session_cookie_removal(config: &Config) -> String {
    removal(&config.cookie_name, "/", config.cookie_secure)
}

/// The session id in a signed session cookie value, when the signature holds.
pub(crate) fn verify_session_cookie<'a>(config: &Config, value: &'a str) -> Option<&'a str> {
    let (id, tag) = value.split_once('.')?;
    if id.is_empty() || id.len() > 64 || tag.len() > 64 {
        return None;
    }
    config.session_key.verify(id.as_bytes(), tag).then_some(id)
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
