//! Calls to the provider's endpoints: token (code and refresh), userinfo, revocation.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::{Config, TokenAuthMethod};
use crate::discovery::ProviderMetadata;
use crate::error::ProviderError;
use crate::http_client::{ClientAuth, ProviderHttp, ProviderResponse};
use crate::keys::KeyCache;

/// A successful token endpoint response (RFC 6749 section 5.1).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    #[serde(default, deserialize_with = "lenient_seconds")]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// `expires_in` as a number or a numeric string.
fn lenient_seconds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|secs| *secs >= 0))
}

pub(crate) struct Provider {
    pub http: ProviderHttp,
    pub metadata: std::sync::Arc<ProviderMetadata>,
    pub keys: KeyCache,
}

impl Provider {
    /// The client's authentication for one call. The JWT methods make a fresh assertion each
    /// time (a new `jti`), used at every endpoint.
    fn client_auth<'a>(&self, config: &'a Config) -> Result<ClientAuth<'a>, ProviderError> {
        let id = config.client_id.as_str();
        let audience = match config.assertion_audience {
            crate::AssertionAudience::Issuer => self.metadata.issuer.as_str(),
            _ => self.metadata.token_endpoint.as_str(),
        };
        let assertion =
            |sign: &dyn Fn(&Value) -> Option<String>| self.assertion(audience, id, sign);
        Ok(match (config.auth_method, &config.client_secret) {
            (TokenAuthMethod::ClientSecretBasic, Some(secret)) => ClientAuth::Basic {
                id,
                secret: secret.expose(),
            },
            (TokenAuthMethod::ClientSecretPost, Some(secret)) => ClientAuth::Post {
                id,
                secret: secret.expose(),
            },
            (TokenAuthMethod::ClientSecretJwt, Some(secret)) => {
                let alg = self.hmac_algorithm();
                assertion(&|claims| crate::client_key::hmac_jwt(secret.expose(), alg, claims))?
            }
            (TokenAuthMethod::PrivateKeyJwt, _) => match &config.client_key {
                Some(key) => assertion(&|claims| key.sign_jwt(None, claims))?,
                None => {
                    return Err(ProviderError::Invalid(
                        "private_key_jwt without a client key".into(),
                    ))
                }
            },
            _ => ClientAuth::Public { id },
        })
    }

    /// A client assertion for `id`, signed by `sign`.
    fn assertion<'a>(
        &self,
        audience: &str,
        id: &'a str,
        sign: &dyn Fn(&Value) -> Option<String>,
    ) -> Result<ClientAuth<'a>, ProviderError> {
        crate::client_key::assertion_claims(id, audience)
            .and_then(|claims| sign(&claims))
            .map(|assertion| ClientAuth::Assertion { id, assertion })
            .ok_or_else(|| ProviderError::Invalid("could not sign the client assertion".into()))
    }

    /// The HMAC for `client_secret_jwt`: HS256 unless the provider lists only stronger ones.
    fn hmac_algorithm(&self) -> &'static str {
        let listed = self
            .metadata
            .token_endpoint_auth_signing_alg_values_supported
            .as_deref()
            .unwrap_or_default();
        ["HS256", "HS384", "HS512"]
            .into_iter()
            .find(|alg| listed.is_empty() || listed.iter().any(|l| l == alg))
            .unwrap_or("HS256")
    }

    pub(crate) async fn exchange_code(
        &self,
        config: &Config,
        code: &str,
        verifier: &str,
    ) -> Result<TokenResponse, ProviderError> {
        let redirect_uri = config.redirect_uri();
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        self.token_request(config, &fields).await
    }

    pub(crate) async fn refresh(
        &self,
        config: &Config,
        refresh_token: &str,
    ) -> Result<TokenResponse, ProviderError> {
        let fields = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.token_request(config, &fields).await
    }

    /// A token for one API with the refresh token (RFC 6749 §6 with a narrower `scope`,
    /// RFC 8707 §2.2 `resource`).
    pub(crate) async fn refresh_for_api(
        &self,
        config: &Config,
        refresh_token: &str,
        api: &crate::ApiConfig,
    ) -> Result<TokenResponse, ProviderError> {
        let scope = api.scopes.join(" ");
        let mut fields = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", scope.as_str()),
        ];
        if let Some(resource) = &api.resource {
            fields.push(("resource", resource.as_str()));
        }
        self.token_request(config, &fields).await
    }

    /// Pushes an authorization request (RFC 9126 §2.1): its parameters, with the client's
    /// authentication, to the PAR endpoint; the `request_uri` that stands for them.
    pub(crate) async fn push_authorization_request(
        &self,
        config: &Config,
        endpoint: &str,
        params: &[(&str, &str)],
    ) -> Result<String, ProviderError> {
        let auth = self.client_auth(config)?;
        // `client_id` is one of the request's parameters; the form methods add it themselves.
        let fields: Vec<(&str, &str)> = params
            .iter()
            .copied()
            .filter(|(name, _)| *name != "client_id" || matches!(auth, ClientAuth::Basic { .. }))
            .collect();
        let response = self.http.post_form(endpoint, auth, &fields).await?;
        // §2.2: 201 Created (some deployments answer 200).
        if response.status != 201 && response.status != 200 {
            return Err(error_from(response));
        }
        #[derive(Deserialize)]
        struct Pushed {
            request_uri: String,
        }
        let pushed: Pushed = response.json("pushed authorization response")?;
        Ok(pushed.request_uri)
    }

    /// A worker's token (RFC 6749 §4.4), authenticated as the worker.
    pub(crate) async fn client_credentials(
        &self,
        worker: &crate::worker::WorkerConfig,
    ) -> Result<TokenResponse, ProviderError> {
        let scope = worker.scopes.join(" ");
        let mut fields = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            fields.push(("scope", scope.as_str()));
        }
        if let Some(resource) = &worker.resource {
            fields.push(("resource", resource.as_str()));
        }
        let id = worker.client_id.as_str();
        let secret = worker.client_secret.expose();
        let auth = if let Some(key) = &worker.key {
            // Workers talk to the token endpoint only.
            self.assertion(&self.metadata.token_endpoint, id, &|claims| {
                key.sign_jwt(None, claims)
            })?
        } else if worker.post {
            ClientAuth::Post { id, secret }
        } else {
            ClientAuth::Basic { id, secret }
        };
        let response = self
            .http
            .post_form(&self.metadata.token_endpoint, auth, &fields)
            .await?;
        token_result(response)
    }

    async fn token_request(
        &self,
        config: &Config,
        fields: &[(&str, &str)],
    ) -> Result<TokenResponse, ProviderError> {
        let response = self
            .http
            .post_form(
                &self.metadata.token_endpoint,
                self.client_auth(config)?,
                fields,
            )
            .await?;
        token_result(response)
    }

    /// RFC 7009 revocation. `Ok(false)` when the provider has no revocation endpoint.
    pub(crate) async fn revoke(
        &self,
        config: &Config,
        token: &str,
        hint: &str,
    ) -> Result<bool, ProviderError> {
        let Some(endpoint) = &self.metadata.revocation_endpoint else {
            return Ok(false);
        };
        let fields = [("token", token), ("token_type_hint", hint)];
        let response = self
            .http
            .post_form(endpoint, self.client_auth(config)?, &fields)
            .await?;
        match response.status {
            200..=299 => Ok(true),
            _ => Err(error_from(response)),
        }
    }

    /// RFC 7662 §2: what the provider says about `token`, authenticated as this client.
    /// `Ok(None)` when the provider has no introspection endpoint.
    pub(crate) async fn introspect(
        &self,
        config: &Config,
        token: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ProviderError> {
        let Some(endpoint) = &self.metadata.introspection_endpoint else {
            return Ok(None);
        };
        let fields = [("token", token), ("token_type_hint", "access_token")];
        let response = self
            .http
            .post_form(endpoint, self.client_auth(config)?, &fields)
            .await?;
        if response.status != 200 {
            return Err(error_from(response));
        }
        response.json("introspection response").map(Some)
    }

    /// Userinfo claims, or `None` when the provider has no userinfo endpoint.
    pub(crate) async fn userinfo(
        &self,
        access_token: &str,
    ) -> Result<Option<Map<String, Value>>, ProviderError> {
        let Some(endpoint) = &self.metadata.userinfo_endpoint else {
            return Ok(None);
        };
        let response = self.http.get(endpoint, Some(access_token)).await?;
        if response.status != 200 {
            return Err(error_from(response));
        }
        response.json::<Map<String, Value>>("userinfo").map(Some)
    }
}

/// Parses a token endpoint answer as the code exchange and refresh do (for the fuzz targets).
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_token_response(status: u16, body: &[u8]) -> bool {
    token_result(ProviderResponse {
        status,
        body: body.to_vec(),
        max_age: None,
    })
    .is_ok()
}

fn token_result(response: ProviderResponse) -> Result<TokenResponse, ProviderError> {
    if response.status != 200 {
        return Err(error_from(response));
    }
    let token: TokenResponse = response.json("token response")?;
    if !token.token_type.eq_ignore_ascii_case("bearer") {
        return Err(ProviderError::Invalid(format!(
            "token_type `{}` is not supported (only Bearer)",
            token.token_type.chars().take(20).collect::<String>()
        )));
    }
    if token.access_token.is_empty() {
        return Err(ProviderError::Invalid("empty access_token".into()));
    }
    Ok(token)
}

/// Maps a non-success answer: 5xx, 429 and the OAuth codes that say "try later" are
/// "unavailable" (a refresh keeps the session); any other OAuth error body is "rejected".
fn error_from(response: ProviderResponse) -> ProviderError {
    if response.status >= 500 || response.status == 429 {
        return ProviderError::Unreachable(format!("status {}", response.status));
    }
    match serde_json::from_slice::<OAuthErrorBody>(&response.body) {
        Ok(body)
            if matches!(
                body.error.as_str(),
                "temporarily_unavailable" | "server_error"
            ) =>
        {
            ProviderError::Unreachable(format!("status {}, {}", response.status, body.error))
        }
        Ok(body) => ProviderError::Rejected {
            error: sanitize_code(&body.error),
            description: body.error_description.as_deref().map(sanitize_description),
        },
        Err(_) => ProviderError::Invalid(format!("status {}", response.status)),
    }
}

/// OAuth error codes are plain ASCII; anything else is cut, so it is safe to show and log.
pub(crate) fn sanitize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.' || *c == '-')
        .take(64)
        .collect()
}

/// RFC 6749 section 5.2: `error_description` is printable ASCII without `"` and `\`. Anything
/// else is dropped (a newline would forge log lines), and the text is cut at 200 characters.
fn sanitize_description(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(c, ' '..='~') && !matches!(c, '"' | '\\'))
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> ProviderResponse {
        ProviderResponse {
            status,
            body: body.as_bytes().to_vec(),
            max_age: None,
        }
    }

    #[test]
    fn parses_token_responses() {
        let Ok(ok) = token_result(response(
            200,
            r#"{"access_token":"a","token_type":"bearer","expires_in":"3600","refresh_token":"r","scope":"openid"}"#,
        )) else {
            panic!("a valid token response was refused");
        };
        assert_eq!(ok.expires_in, Some(3600));
        assert!(
            token_result(response(200, r#"{"access_token":"a","token_type":"DPoP"}"#)).is_err()
        );
        assert!(token_result(response(200, "not json")).is_err());
        match token_result(response(
            400,
            r#"{"error":"invalid_grant","error_description":"used"}"#,
        )) {
            Err(ProviderError::Rejected { error, .. }) => assert_eq!(error, "invalid_grant"),
            _ => panic!("expected a rejection"),
        }
        // "Try later" answers keep a session: the refresh token may still be good.
        for (status, body) in [
            (503, ""),
            (429, ""),
            (400, r#"{"error":"temporarily_unavailable"}"#),
            (400, r#"{"error":"server_error"}"#),
        ] {
            assert!(
                matches!(
                    token_result(response(status, body)),
                    Err(ProviderError::Unreachable(_))
                ),
                "{status} {body}"
            );
        }
        assert_eq!(sanitize_code("bad<script>"), "badscript");
        assert_eq!(
            sanitize_description("used\n2030-01-01 WARN forged \"line\"\u{1b}[0m"),
            "used2030-01-01 WARN forged line[0m"
        );
    }
}
