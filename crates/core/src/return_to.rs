//! `return_to`: where to send the browser after sign-in. Only same-origin relative paths pass.

/// Returns the path when it is a safe same-origin relative path, else `None`.
///
/// Refused: anything not starting with a single `/` (absolute and scheme-relative URLs such as
/// `https://x`, `//x`), backslashes (`/\x` is `//x` to browsers), control characters and
/// whitespace, percent-encoded slashes or backslashes that would decode to those, and
/// paths over 2 KiB.
pub fn sanitize(candidate: &str) -> Option<String> {
    if candidate.len() > 2048 || !candidate.starts_with('/') {
        return None;
    }
    let bytes = candidate.as_bytes();
    if bytes.get(1).is_some_and(|b| *b == b'/' || *b == b'\\') {
        return None;
    }
    if bytes
        .iter()
        .any(|b| *b == b'\\' || b.is_ascii_control() || *b == b' ' || *b >= 0x80)
    {
        return None;
    }
    // Decoded once more, the path must still be safe: `/%2F%2Fevil`, `/%5Cevil`, `/%09/evil`.
    let decoded: Vec<u8> = percent_decode(bytes);
    if decoded.get(1).is_some_and(|b| *b == b'/' || *b == b'\\')
        || decoded.iter().any(|b| *b == b'\\' || b.is_ascii_control())
    {
        return None;
    }
    Some(candidate.to_string())
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_paths() {
        for ok in ["/", "/profile", "/a/b?x=1&y=%2F", "/search?q=a%20b#frag"] {
            assert_eq!(sanitize(ok).as_deref(), Some(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_open_redirects() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "HTTPS://EVIL.EXAMPLE",
            "http:evil.example",
            "evil.example",
            "/%2F%2Fevil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/\tevil",
            "/%09/evil.example",
            "/ /evil",
            "javascript:alert(1)",
            "",
            "\\\\evil.example",
            "/\u{3002}evil",
        ] {
            assert_eq!(sanitize(bad), None, "{bad:?} must be refused");
        }
        assert_eq!(sanitize(&format!("/{}", "a".repeat(3000))), None);
    }
}
