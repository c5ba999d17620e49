//! Scope strings (RFC 6749 section 3.3) and the scope requirements of `ScopedToken<S>`.

/// A scope token: printable ASCII except space, `"` and `\`.
pub(crate) fn is_valid_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 256
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Splits a space-separated scope string, dropping invalid tokens and duplicates.
pub(crate) fn parse_scope_list(scopes: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in scopes.split(' ').filter(|s| is_valid_scope_token(s)) {
        if !out.iter().any(|have| have == scope) {
            out.push(scope.to_string());
        }
    }
    out
}

/// The scopes of `required` that `granted` lacks.
pub fn missing<'a>(granted: &[String], required: &[&'a str]) -> Vec<&'a str> {
    required
        .iter()
        .copied()
        .filter(|r| !granted.iter().any(|g| g == r))
        .collect()
}

/// The scopes a `ScopedToken<S>` extractor requires. Declare one with [`required_scopes!`](crate::required_scopes).
pub trait RequiredScopes: Send + Sync + 'static {
    /// Every scope the access token must carry.
    const SCOPES: &'static [&'static str];
}

/// Declares a type naming the scopes a route needs, for `ScopedToken<S>`.
///
/// ```
/// ping_oidc::required_scopes!(pub OrdersRead => "orders:read");
/// ping_oidc::required_scopes!(OrdersWrite => "orders:read", "orders:write");
/// use ping_oidc::RequiredScopes;
/// assert_eq!(OrdersWrite::SCOPES, ["orders:read", "orders:write"]);
/// ```
#[macro_export]
macro_rules! required_scopes {
    ($vis:vis $name:ident => $($scope:literal),+ $(,)?) => {
        #[doc = concat!("Requires the scopes: ", $($scope, " "),+)]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::RequiredScopes for $name {
            const SCOPES: &'static [&'static str] = &[$($scope),+];
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        assert_eq!(
            parse_scope_list("openid  profile openid bad\"x"),
            ["openid", "profile"]
        );
        assert!(is_valid_scope_token("orders:read"));
        assert!(!is_valid_scope_token("a b"));
        assert!(!is_valid_scope_token("a\\b"));
        let granted = vec!["openid".to_string(), "orders:read".to_string()];
        assert_eq!(
            missing(&granted, &["orders:read", "orders:write"]),
            ["orders:write"]
        );
    }
}
