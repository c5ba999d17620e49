//! The provider's signing keys: cached, refetched once (rate-limited) when a token names an
//! unknown `kid`, so key rotation at the provider needs no restart.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::error::TokenError;
use crate::http_client::ProviderHttp;
use crate::jose::{parse_jwks, Algorithm, PublicKey, UnverifiedJws};

pub(crate) struct KeyCache {
    jwks_uri: String,
    keys: RwLock<Arc<Vec<PublicKey>>>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    min_refetch_interval: Duration,
}

/// A JWS whose signature verified with one of the provider's keys.
pub(crate) struct SignedPayload {
    pub alg: Algorithm,
    pub typ: Option<String>,
    pub payload: Vec<u8>,
}

impl KeyCache {
    pub(crate) fn new(jwks_uri: String, min_refetch_interval: Duration) -> Self {
        Self {
            jwks_uri,
            keys: RwLock::new(Arc::new(Vec::new())),
            last_fetch: tokio::sync::Mutex::new(None),
            min_refetch_interval,
        }
    }

    fn snapshot(&self) -> Arc<Vec<PublicKey>> {
        match self.keys.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Fetches the JWKS now, unless another fetch happened within the refetch interval.
    pub(crate) async fn refresh(
        &self,
        http: &ProviderHttp,
        force: bool,
    ) -> Result<bool, TokenError> {
        let mut last = self.last_fetch.lock().await;
        if !force && last.is_some_and(|at| at.elapsed() < self.min_refetch_interval) {
            return Ok(false);
        }
        let response = http
            .get(&self.jwks_uri, None)
            .await
            .map_err(|e| TokenError::KeysUnavailable(e.to_string()))?;
        if response.status != 200 {
            return Err(TokenError::KeysUnavailable(format!(
                "JWKS answered status {}",
                response.status
            )));
        }
        let keys = parse_jwks(&response.body).map_err(TokenError::KeysUnavailable)?;
        tracing::debug!(keys = keys.len(), "provider keys fetched");
        *last = Some(Instant::now());
        match self.keys.write() {
            Ok(mut guard) => *guard = Arc::new(keys),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(keys),
        }
        Ok(true)
    }

    /// Verifies the token's signature. A `kid` with no key triggers one refetch.
    ///
    /// Without a `kid`, every key that fits the algorithm is tried (so a single key works,
    /// and with several keys the token passes when any of the provider's keys signed it).
    pub(crate) async fn verify(
        &self,
        http: &ProviderHttp,
        token: &str,
    ) -> Result<SignedPayload, TokenError> {
        let jws = UnverifiedJws::parse(token)?;
        // A bad signature with a named key is final; without a kid the key may have rotated.
        let first = match check(&self.snapshot(), &jws) {
            KeyCheck::Verified => return Ok(signed(jws)),
            KeyCheck::BadSignature if jws.kid.is_some() => return Err(TokenError::BadSignature),
            KeyCheck::BadSignature => TokenError::BadSignature,
            KeyCheck::NoKey => TokenError::UnknownKey,
        };
        if !self.refresh(http, false).await? {
            return Err(first);
        }
        match check(&self.snapshot(), &jws) {
            KeyCheck::Verified => Ok(signed(jws)),
            KeyCheck::BadSignature => Err(TokenError::BadSignature),
            KeyCheck::NoKey => Err(TokenError::UnknownKey),
        }
    }
}

impl SignedPayload {
    /// The payload as a JSON object.
    pub(crate) fn claims(&self) -> Result<serde_json::Map<String, serde_json::Value>, TokenError> {
        serde_json::from_slice(&self.payload)
            .map_err(|_| TokenError::Malformed("payload is not a JSON object"))
    }
}

fn signed(jws: UnverifiedJws<'_>) -> SignedPayload {
    SignedPayload {
        alg: jws.alg,
        typ: jws.typ,
        payload: jws.payload,
    }
}

enum KeyCheck {
    Verified,
    BadSignature,
    NoKey,
}

fn check(keys: &[PublicKey], jws: &UnverifiedJws<'_>) -> KeyCheck {
    let mut candidates = keys
        .iter()
        .filter(|key| key.fits(jws.alg))
        .filter(|key| jws.kid.is_none() || key.kid == jws.kid)
        .peekable();
    if candidates.peek().is_none() {
        return KeyCheck::NoKey;
    }
    if candidates.any(|key| jws.verify_with(key)) {
        KeyCheck::Verified
    } else {
        KeyCheck::BadSignature
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_client::test_server;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A JWKS endpoint on loopback that counts its requests.
    async fn jwks_endpoint(hits: Arc<AtomicUsize>) -> String {
        let address = test_server::answer(hits, test_server::json(200, r#"{"keys":[]}"#)).await;
        format!("http://{address}/jwks")
    }

    /// A token naming `kid` (its signature is never reached: no key has that kid).
    fn token_with_kid(kid: &str) -> String {
        let header =
            crate::crypto::b64url_encode(format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#).as_bytes());
        format!("{header}.e30.c2ln")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_kid_refetches_once_per_interval_then_fails() {
        let hits = Arc::new(AtomicUsize::new(0));
        let http = ProviderHttp::new(Duration::from_secs(2), Duration::from_secs(2), 64 * 1024)
            .expect("client");
        let interval = Duration::from_millis(300);
        let cache = KeyCache::new(jwks_endpoint(Arc::clone(&hits)).await, interval);
        assert!(cache.refresh(&http, true).await.expect("first fetch"));
        assert_eq!(hits.load(Ordering::SeqCst), 1);

        // Within the interval: no refetch, the unknown kid fails at once.
        let result = cache.verify(&http, &token_with_kid("new-1")).await;
        assert!(matches!(result, Err(TokenError::UnknownKey)));
        assert_eq!(hits.load(Ordering::SeqCst), 1);

        // After it: one refetch for many concurrent tokens with unknown kids, then failure.
        tokio::time::sleep(interval + Duration::from_millis(50)).await;
        let cache = Arc::new(cache);
        let attempts: Vec<_> = (0..10)
            .map(|i| {
                let (cache, http) = (Arc::clone(&cache), http.clone());
                tokio::spawn(async move {
                    cache
                        .verify(&http, &token_with_kid(&format!("new-{i}")))
                        .await
                })
            })
            .collect();
        for attempt in attempts {
            let result = attempt.await.expect("task");
            assert!(matches!(result, Err(TokenError::UnknownKey)));
        }
        assert_eq!(hits.load(Ordering::SeqCst), 2, "one refetch for ten tokens");
    }
}
