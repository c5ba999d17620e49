//! OpenID Provider metadata (OpenID Connect Discovery 1.0), with the exact issuer check.

use serde::Deserialize;
use url::Url;

use crate::config::{check_transport, is_loopback, ConfigError};
use crate::error::ProviderError;
use crate::http_client::ProviderHttp;

/// The fields of the discovery document this crate uses.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// `issuer`: equal to the configured issuer, exactly.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `jwks_uri`: the provider's signing keys.
    pub jwks_uri: String,
    /// `userinfo_endpoint`, if any.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// `end_session_endpoint` (RP-Initiated Logout), if any.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// PingFederate's proprietary single-logout endpoint, used when there is no
    /// `end_session_endpoint`.
    #[serde(default)]
    pub ping_end_session_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009), if any.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// `introspection_endpoint` (RFC 7662), if any.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// RFC 9207: the authorization response carries `iss`, which must then be present.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9126 §5: where authorization requests are pushed.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: the provider accepts only pushed authorization requests.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// PKCE methods; when listed, `S256` must be among them.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// ID token signing algorithms the provider may use.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// Algorithms the token endpoint accepts for JWT client authentication (RFC 8414 §2).
    #[serde(default)]
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// Whether the provider sends back-channel logout tokens.
    #[serde(default)]
    pub backchannel_logout_supported: bool,
}

/// Where the discovery document of `issuer` lives.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The document could not be fetched (unreachable, or not a 200).
    #[error("could not read the discovery document at {url}: {source}")]
    Fetch {
        /// The discovery URL.
        url: String,
        /// What went wrong.
        source: ProviderError,
    },
    /// The document contradicts the configuration (issuer mismatch, plain http, no S256).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl ProviderMetadata {
    /// Parses a discovery document and checks it against the configured issuer.
    pub fn parse(body: &[u8], expected_issuer: &str) -> Result<Self, ConfigError> {
        let metadata: ProviderMetadata = serde_json::from_slice(body).map_err(|e| {
            ConfigError::new(format!("the discovery document is not valid metadata: {e}"))
        })?;
        metadata.check(expected_issuer)?;
        Ok(metadata)
    }

    fn check(&self, expected_issuer: &str) -> Result<(), ConfigError> {
        if self.issuer != expected_issuer {
            return Err(ConfigError::new(format!(
                "the provider says its issuer is `{}` but `{expected_issuer}` is configured; they must match exactly (check the scheme, host, path and trailing slash)",
                self.issuer
            )));
        }
        let endpoints = [
            ("authorization_endpoint", Some(&self.authorization_endpoint)),
            ("token_endpoint", Some(&self.token_endpoint)),
            ("jwks_uri", Some(&self.jwks_uri)),
            ("userinfo_endpoint", self.userinfo_endpoint.as_ref()),
            ("end_session_endpoint", self.end_session_endpoint.as_ref()),
            (
                "ping_end_session_endpoint",
                self.ping_end_session_endpoint.as_ref(),
            ),
            ("revocation_endpoint", self.revocation_endpoint.as_ref()),
            (
                "introspection_endpoint",
                self.introspection_endpoint.as_ref(),
            ),
        ];
        // Plain-http loopback endpoints only for a loopback issuer (local development): an
        // https provider cannot point us at a plain-http port on our own host.
        let issuer_on_loopback = Url::parse(&self.issuer).is_ok_and(|url| is_loopback(&url));
        for (name, value) in endpoints {
            if let Some(value) = value {
                let url = Url::parse(value).map_err(|e| {
                    ConfigError::new(format!("discovery `{name}` is not a URL: {e}"))
                })?;
                if url.scheme() == "http" && !issuer_on_loopback {
                    return Err(ConfigError::new(format!(
                        "discovery `{name}` `{url}` must use https: the issuer is not on loopback"
                    )));
                }
                check_transport(&url, name)?;
            }
        }
        if let Some(methods) = &self.code_challenge_methods_supported {
            if !methods.iter().any(|m| m == "S256") {
                return Err(ConfigError::new(
                    "the provider does not list PKCE S256 in code_challenge_methods_supported; enable S256 for this client",
                ));
            }
        }
        Ok(())
    }

    /// Fetches and checks the discovery document; also returns its `Cache-Control` max-age.
    pub(crate) async fn fetch(
        http: &ProviderHttp,
        issuer: &str,
    ) -> Result<(Self, Option<std::time::Duration>), DiscoveryError> {
        let url = discovery_url(issuer);
        let fetch_error = |source| DiscoveryError::Fetch {
            url: url.clone(),
            source,
        };
        let response = http.get(&url, None).await.map_err(fetch_error)?;
        if response.status != 200 {
            return Err(fetch_error(ProviderError::Invalid(format!(
                "status {}",
                response.status
            ))));
        }
        Ok((Self::parse(&response.body, issuer)?, response.max_age))
    }

    /// The RP-initiated logout URL: `end_session_endpoint`, else PingFederate's
    /// `ping_end_session_endpoint`.
    pub fn logout_endpoint(&self) -> Option<&str> {
        self.end_session_endpoint
            .as_deref()
            .or(self.ping_end_session_endpoint.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://auth.pingone.com/5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11/as";

    fn doc(issuer: &str) -> String {
        format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"{issuer}/authorize","token_endpoint":"{issuer}/token",
            "jwks_uri":"{issuer}/jwks","userinfo_endpoint":"{issuer}/userinfo","end_session_endpoint":"{issuer}/signoff",
            "code_challenge_methods_supported":["S256"],"unknown_field":[1,2]}}"#
        )
    }

    #[test]
    fn accepts_exact_issuer() {
        let metadata = ProviderMetadata::parse(doc(ISSUER).as_bytes(), ISSUER).expect("valid");
        assert_eq!(
            metadata.logout_endpoint(),
            Some(format!("{ISSUER}/signoff").as_str())
        );
        assert_eq!(
            discovery_url(ISSUER),
            format!("{ISSUER}/.well-known/openid-configuration")
        );
    }

    #[test]
    fn rejects_any_issuer_difference() {
        for other in [
            format!("{ISSUER}/"),
            ISSUER.to_uppercase(),
            ISSUER.replace("https", "http"),
        ] {
            let error =
                ProviderMetadata::parse(doc(&other).as_bytes(), ISSUER).expect_err("mismatch");
            assert!(
                error.message().contains("must match exactly"),
                "{}",
                error.message()
            );
        }
    }

    #[test]
    fn rejects_garbage_and_plain_http() {
        assert!(ProviderMetadata::parse(b"{not json", ISSUER).is_err());
        assert!(ProviderMetadata::parse(b"{}", ISSUER).is_err());
        let insecure = doc(ISSUER).replace(&format!("{ISSUER}/token"), "http://evil.example/token");
        assert!(ProviderMetadata::parse(insecure.as_bytes(), ISSUER).is_err());
    }

    /// Plain-http loopback endpoints only for a loopback issuer.
    #[test]
    fn loopback_http_only_for_a_loopback_issuer() {
        let to_us = doc(ISSUER).replace(&format!("{ISSUER}/token"), "http://127.0.0.1:8080/token");
        let error = ProviderMetadata::parse(to_us.as_bytes(), ISSUER).expect_err("refused");
        assert!(
            error.message().contains("not on loopback"),
            "{}",
            error.message()
        );
        let local = "http://127.0.0.1:9000/as";
        assert!(ProviderMetadata::parse(doc(local).as_bytes(), local).is_ok());
    }

    #[test]
    fn pingfederate_logout_fallback() {
        let issuer = "https://pf.example.com";
        let body = format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"{issuer}/as/authorization.oauth2",
            "token_endpoint":"{issuer}/as/token.oauth2","jwks_uri":"{issuer}/pf/JWKS",
            "ping_end_session_endpoint":"{issuer}/idp/startSLO.ping"}}"#
        );
        let metadata = ProviderMetadata::parse(body.as_bytes(), issuer).expect("valid");
        assert_eq!(
            metadata.logout_endpoint(),
            Some("https://pf.example.com/idp/startSLO.ping")
        );
    }
}
