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

/// The scopes a `ScopedToken<S>` extractor requires. Declare one with
/// [`required_scopes!`](crate::required_scopes), or an API of its own with
/// [`api!`](crate::api).
pub trait RequiredScopes: Send + Sync + 'static {
    /// Every scope the access token must carry.
    const SCOPES: &'static [&'static str];
    /// The API (by the name given to [`ConfigBuilder::api`](crate::ConfigBuilder::api)) whose
    /// own token `ScopedToken<S>` yields; `None`: the session's token.
    const API: Option<&'static str> = None;
    /// Step-up: the `acr` values, one of which the session's authentication must have
    /// (declare with [`step_up!`](crate::step_up)); empty: any.
    const ACR_VALUES: &'static [&'static str] = &[];
    /// Step-up: the session's authentication must be at most this many seconds old.
    const MAX_AGE: Option<u64> = None;
}

/// What a guarded route requires, as its [`RequiredScopes`] type says: the adapters pass it
/// to [`RequestAuth::authenticate_for_now`](crate::adapter::RequestAuth::authenticate_for_now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// Scopes on the session's token.
    pub scopes: &'static [&'static str],
    /// An API whose own token the route needs.
    pub api: Option<&'static str>,
    /// One of these `acr` values (step-up).
    pub acr_values: &'static [&'static str],
    /// An authentication at most this many seconds old (step-up).
    pub max_age: Option<u64>,
}

impl Requirement {
    /// Signed in, nothing more.
    pub const SIGNED_IN: Self = Self {
        scopes: &[],
        api: None,
        acr_values: &[],
        max_age: None,
    };

    /// What `S` requires.
    pub const fn of<S: RequiredScopes>() -> Self {
        Self {
            scopes: S::SCOPES,
            api: S::API,
            acr_values: S::ACR_VALUES,
            max_age: S::MAX_AGE,
        }
    }

    /// Whether it asks for a step-up (an `acr` or a recent authentication).
    pub fn is_step_up(&self) -> bool {
        !self.acr_values.is_empty() || self.max_age.is_some()
    }
}

/// Declares a step-up requirement for `ScopedToken<S>`: the session's authentication must
/// carry one of the `acr` values and/or be at most `max_age` seconds old. Otherwise a
/// navigation signs in again asking for them (the session is upgraded in place), and an API
/// call gets `401` with an RFC 9470 challenge. The `acr` values must also be allowed with
/// [`ConfigBuilder::allowed_acr_values`](crate::ConfigBuilder::allowed_acr_values).
///
/// ```
/// use ping_oidc::{step_up, RequiredScopes};
/// step_up!(pub RecentMfa => acr_values = ["Multi_Factor"], max_age = 300);
/// step_up!(pub Mfa => acr_values = ["Multi_Factor"]);
/// assert_eq!(RecentMfa::MAX_AGE, Some(300));
/// assert_eq!(Mfa::ACR_VALUES, ["Multi_Factor"]);
/// ```
#[macro_export]
macro_rules! step_up {
    ($vis:vis $name:ident => acr_values = [$($acr:literal),+ $(,)?] $(, max_age = $max_age:literal)? $(,)?) => {
        #[doc = concat!("Step-up: acr ", $($acr, " "),+)]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::RequiredScopes for $name {
            const SCOPES: &'static [&'static str] = &[];
            const ACR_VALUES: &'static [&'static str] = &[$($acr),+];
            $(const MAX_AGE: Option<u64> = Some($max_age);)?
        }
    };
    ($vis:vis $name:ident => max_age = $max_age:literal $(,)?) => {
        #[doc = concat!("Step-up: an authentication at most ", $max_age, " s old")]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::RequiredScopes for $name {
            const SCOPES: &'static [&'static str] = &[];
            const MAX_AGE: Option<u64> = Some($max_age);
        }
    };
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

/// Declares an API the app calls with the user's token: a type for `ScopedToken<S>`, which
/// then yields a token for exactly this API. Register it with
/// [`ConfigBuilder::api`](crate::ConfigBuilder::api), where its resource indicator (RFC 8707)
/// can come from the environment.
///
/// ```
/// use ping_oidc::{api, ApiConfig, RequiredScopes};
/// api!(pub Orders => "orders", scopes = ["orders:read"]);
/// assert_eq!(Orders::API, Some("orders"));
/// let orders = ApiConfig::of::<Orders>().resource("https://orders.example/");
/// # let _ = orders;
/// ```
#[macro_export]
macro_rules! api {
    ($vis:vis $name:ident => $api:literal, scopes = [$($scope:literal),+ $(,)?] $(,)?) => {
        #[doc = concat!("The `", $api, "` API: scopes ", $($scope, " "),+)]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::RequiredScopes for $name {
            const SCOPES: &'static [&'static str] = &[$($scope),+];
            const API: Option<&'static str> = Some($api);
        }
    };
}

/// An API the app calls in the user's name: its name, the scopes its token needs, and its
/// resource indicator (RFC 8707), when the provider issues one token per resource (PingOne
/// does). Register it with [`ConfigBuilder::api`](crate::ConfigBuilder::api).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    pub(crate) name: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource: Option<String>,
}

impl ApiConfig {
    /// An API by name and scopes (for one that only browser code asks for, with
    /// `/auth/token?api=<name>`).
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            resource: None,
        }
    }

    /// The API an [`api!`](crate::api) type declares.
    pub fn of<A: RequiredScopes>() -> Self {
        Self::new(A::API.unwrap_or_default(), A::SCOPES.iter().copied())
    }

    /// Its resource indicator (the `aud` of its tokens), sent as `resource` (RFC 8707).
    #[must_use]
    pub fn resource(mut self, indicator: impl Into<String>) -> Self {
        self.resource = Some(indicator.into());
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scopes its token needs.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The resource indicator, when it has one.
    pub fn resource_indicator(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// Whether the session's own token serves: no resource of its own, and the session has
    /// every scope.
    pub(crate) fn served_by_session_token(&self, granted: &[String]) -> bool {
        self.resource.is_none() && self.scopes.iter().all(|s| granted.contains(s))
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(format!(
                "API name `{}` must be 1 to 64 letters, digits, `-` or `_`",
                self.name
            ));
        }
        if self.scopes.is_empty() || !self.scopes.iter().all(|s| is_valid_scope_token(s)) {
            return Err(format!("API `{}` needs valid scopes", self.name));
        }
        if let Some(resource) = &self.resource {
            // RFC 8707 §2: an absolute URI without a fragment.
            let absolute = url::Url::parse(resource).is_ok_and(|u| u.fragment().is_none());
            if !absolute {
                return Err(format!(
                    "API `{}`: resource `{resource}` is not an absolute URI without a fragment",
                    self.name
                ));
            }
        }
        Ok(())
    }
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
