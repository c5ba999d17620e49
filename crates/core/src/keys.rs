//! The provider's signing keys: cached, and refetched when a token names an unknown `kid`, so
//! key rotation at the provider needs no restart.
//!
//! How eagerly an unknown `kid` refetches depends on who could have chosen it
//! ([`KidSource`]). Concurrent refetches are coalesced into one HTTP call, no lock is held
//! across that call, and a failed fetch is remembered for [`FAILED_FETCH_MEMORY`] so that a
//! provider outage is not hammered by every request.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::TokenError;
use crate::http_client::ProviderHttp;
use crate::jose::{parse_jwks, Algorithm, PublicKey, UnverifiedJws};
use crate::sync::lock;

/// How long a failed JWKS fetch answers for the next ones, without a new HTTP call.
pub(crate) const FAILED_FETCH_MEMORY: Duration = Duration::from_secs(2);

/// Who could have picked the `kid` of the token being verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KidSource {
    /// The token came straight from the provider's token endpoint over TLS (ID tokens at
    /// sign-in and refresh): an unknown `kid` means the provider rotated, so refetch at once
    /// (OpenID RP test `rp-key-rotation-op-sign-key`).
    Provider,
    /// Anyone can send it (back-channel logout tokens): at most one refetch per
    /// `min_refetch_interval`, counting failed fetches too.
    Anyone,
}

pub(crate) struct KeyCache {
    jwks_uri: String,
    /// The keys and their generation (bumped by every successful fetch).
    keys: RwLock<(u64, Arc<Vec<PublicKey>>)>,
    fetch: Mutex<FetchState>,
    min_refetch_interval: Duration,
}

/// The outcome a fetch in flight announces to the requests waiting on it.
type FetchOutcome = Option<Result<(), String>>;

#[derive(Default)]
struct FetchState {
    /// Set while a fetch runs: waiters subscribe instead of fetching again.
    in_flight: Option<watch::Receiver<FetchOutcome>>,
    /// When the last fetch started, successful or not (the rate limit for [`KidSource::Anyone`]).
    last_attempt: Option<Instant>,
    /// The last failure and when it ended.
    last_failure: Option<(Instant, String)>,
    /// `Cache-Control: max-age` of the last successful fetch.
    max_age: Option<Duration>,
}

/// Clears the in-flight mark if the fetching future is dropped half-way, so that waiters
/// (whose `changed()` then fails) start their own fetch instead of waiting for ever.
struct InFlight<'a> {
    state: &'a Mutex<FetchState>,
    done: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.done {
            lock(self.state).in_flight = None;
        }
    }
}

/// A JWS whose signature verified with one of the provider's keys.
pub(crate) struct SignedPayload {
    pub alg: Algorithm,
    pub typ: Option<String>,
    pub payload: Vec<u8>,
}

/// What [`KeyCache::refetch`] decided.
enum Refetch {
    /// The keys may have changed: check the token again.
    Changed,
    /// No fetch was allowed (rate limit): the first answer stands.
    NotNow,
}

impl KeyCache {
    pub(crate) fn new(jwks_uri: String, min_refetch_interval: Duration) -> Self {
        Self {
            jwks_uri,
            keys: RwLock::new((0, Arc::new(Vec::new()))),
            fetch: Mutex::new(FetchState::default()),
            min_refetch_interval,
        }
    }

    fn snapshot(&self) -> (u64, Arc<Vec<PublicKey>>) {
        let guard = self.keys.read().unwrap_or_else(|p| p.into_inner());
        (guard.0, Arc::clone(&guard.1))
    }

    /// Fetches the JWKS now (at start), whatever the rate limit says; returns how long the
    /// provider lets it be cached.
    pub(crate) async fn fetch_now(
        &self,
        http: &ProviderHttp,
    ) -> Result<Option<Duration>, TokenError> {
        let seen = self.snapshot().0;
        self.refetch(http, None, seen).await?;
        Ok(lock(&self.fetch).max_age)
    }

    /// Refetches because a token with keys of generation `seen` found no key. With `source`
    /// `None` (start-up) neither the rate limit nor the failure memory applies.
    async fn refetch(
        &self,
        http: &ProviderHttp,
        source: Option<KidSource>,
        seen: u64,
    ) -> Result<Refetch, TokenError> {
        // Rounds: join a fetch in flight or start one; if the one we joined was cancelled,
        // start our own.
        let mut fetcher = None;
        for _ in 0..3 {
            if let Some(sender) = fetcher.take() {
                return self.fetch_and_announce(http, sender).await;
            }
            let mut waiting = {
                let mut state = lock(&self.fetch);
                if self.snapshot().0 != seen {
                    return Ok(Refetch::Changed); // fetched since this token's check
                }
                let now = Instant::now();
                if source.is_some() {
                    if let Some((at, reason)) = &state.last_failure {
                        if now.duration_since(*at) < FAILED_FETCH_MEMORY {
                            return Err(TokenError::KeysUnavailable(reason.clone()));
                        }
                    }
                }
                match state.in_flight.clone() {
                    Some(receiver) => receiver,
                    None => {
                        let limited = source == Some(KidSource::Anyone)
                            && state.last_attempt.is_some_and(|at| {
                                now.duration_since(at) < self.min_refetch_interval
                            });
                        if limited {
                            return Ok(Refetch::NotNow);
                        }
                        let (sender, receiver) = watch::channel(None);
                        state.in_flight = Some(receiver);
                        state.last_attempt = Some(now);
                        fetcher = Some(sender);
                        continue;
                    }
                }
            };
            // An error means the fetcher was dropped half-way: go round again.
            let outcome = waiting
                .wait_for(Option::is_some)
                .await
                .map(|got| got.clone());
            match outcome {
                Ok(Some(Err(reason))) => return Err(TokenError::KeysUnavailable(reason)),
                Ok(_) => return Ok(Refetch::Changed),
                Err(_) => continue,
            }
        }
        // A fetch claimed on the last round still runs: leaving it claimed would wedge every
        // later refetch on a fetch nobody makes.
        if let Some(sender) = fetcher.take() {
            return self.fetch_and_announce(http, sender).await;
        }
        Err(TokenError::KeysUnavailable(
            "the key fetch was cancelled".into(),
        ))
    }

    /// The one HTTP call of a refetch; its outcome goes to every waiter.
    async fn fetch_and_announce(
        &self,
        http: &ProviderHttp,
        announce: watch::Sender<FetchOutcome>,
    ) -> Result<Refetch, TokenError> {
        let mut in_flight = InFlight {
            state: &self.fetch,
            done: false,
        };
        let outcome = self.fetch_keys(http).await;
        {
            let mut state = lock(&self.fetch);
            state.in_flight = None;
            state.last_failure = match &outcome {
                Ok((keys, max_age)) => {
                    let mut guard = self.keys.write().unwrap_or_else(|p| p.into_inner());
                    guard.0 += 1;
                    guard.1 = Arc::clone(keys);
                    state.max_age = *max_age;
                    None
                }
                Err(reason) => Some((Instant::now(), reason.clone())),
            };
            in_flight.done = true;
        }
        let outcome = outcome.map(|_| ());
        announce.send_replace(Some(outcome.clone()));
        outcome
            .map(|()| Refetch::Changed)
            .map_err(TokenError::KeysUnavailable)
    }

    async fn fetch_keys(
        &self,
        http: &ProviderHttp,
    ) -> Result<(Arc<Vec<PublicKey>>, Option<Duration>), String> {
        let response = http
            .get(&self.jwks_uri, None)
            .await
            .map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("JWKS answered status {}", response.status));
        }
        let keys = parse_jwks(&response.body)?;
        tracing::debug!(keys = keys.len(), "provider keys fetched");
        Ok((Arc::new(keys), response.max_age))
    }

    /// Verifies the token's signature. A `kid` with no key triggers a refetch, as `source`
    /// allows.
    ///
    /// Without a `kid`, every key that fits the algorithm is tried (so a single key works,
    /// and with several keys the token passes when any of the provider's keys signed it).
    pub(crate) async fn verify(
        &self,
        http: &ProviderHttp,
        token: &str,
        source: KidSource,
    ) -> Result<SignedPayload, TokenError> {
        let jws = UnverifiedJws::parse(token)?;
        let (generation, keys) = self.snapshot();
        // A bad signature with a named key is final; without a kid the key may have rotated.
        let first = match check(&keys, &jws) {
            KeyCheck::Verified => return Ok(signed(jws)),
            KeyCheck::BadSignature if jws.kid.is_some() => return Err(TokenError::BadSignature),
            KeyCheck::BadSignature => TokenError::BadSignature,
            KeyCheck::NoKey => TokenError::UnknownKey,
        };
        drop(keys);
        match self.refetch(http, Some(source), generation).await? {
            Refetch::NotNow => return Err(first),
            Refetch::Changed => {}
        }
        match check(&self.snapshot().1, &jws) {
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

    /// A JWKS endpoint on loopback that counts its requests and answers after `delay_ms`.
    async fn slow_jwks_endpoint(hits: Arc<AtomicUsize>, delay_ms: u64, body: &str) -> String {
        let response = test_server::json(200, body);
        let address =
            test_server::answer_after(hits, Duration::from_millis(delay_ms), response).await;
        format!("http://{address}/jwks")
    }

    /// A token naming `kid` (its signature is never reached: no key has that kid).
    fn token_with_kid(kid: &str) -> String {
        let header =
            crate::crypto::b64url_encode(format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#).as_bytes());
        format!("{header}.e30.c2ln")
    }

    fn http() -> ProviderHttp {
        ProviderHttp::new(Duration::from_secs(2), Duration::from_secs(2), 64 * 1024)
            .expect("client")
    }

    async fn verify_all(cache: &Arc<KeyCache>, source: KidSource, count: usize) -> Vec<TokenError> {
        let attempts: Vec<_> = (0..count)
            .map(|i| {
                let (cache, http) = (Arc::clone(cache), http());
                tokio::spawn(async move {
                    cache
                        .verify(&http, &token_with_kid(&format!("new-{i}")), source)
                        .await
                })
            })
            .collect();
        let mut errors = Vec::new();
        for attempt in attempts {
            match attempt.await.expect("task") {
                Ok(_) => panic!("no key can verify these tokens"),
                Err(error) => errors.push(error),
            }
        }
        errors
    }

    /// ID tokens from the token endpoint: an unknown kid refetches at once, even right after
    /// a fetch and with the default interval; concurrent ones share one fetch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn provider_kids_refetch_at_once_coalesced() {
        let hits = Arc::new(AtomicUsize::new(0));
        let uri = slow_jwks_endpoint(Arc::clone(&hits), 200, r#"{"keys":[]}"#).await;
        let cache = Arc::new(KeyCache::new(uri, Duration::from_secs(10)));
        cache.fetch_now(&http()).await.expect("first fetch");
        assert_eq!(hits.load(Ordering::SeqCst), 1);

        let errors = verify_all(&cache, KidSource::Provider, 10).await;
        assert!(
            errors.iter().all(|e| matches!(e, TokenError::UnknownKey)),
            "{errors:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2, "one refetch for ten tokens");

        let errors = verify_all(&cache, KidSource::Provider, 1).await;
        assert!(matches!(errors[0], TokenError::UnknownKey));
        assert_eq!(
            hits.load(Ordering::SeqCst),
            3,
            "the next token refetches again"
        );
    }

    /// Tokens anyone can send: one refetch per interval, however many ask.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn untrusted_kids_refetch_once_per_interval() {
        let hits = Arc::new(AtomicUsize::new(0));
        let uri = slow_jwks_endpoint(Arc::clone(&hits), 0, r#"{"keys":[]}"#).await;
        let cache = Arc::new(KeyCache::new(uri, Duration::from_secs(3600)));
        let errors = verify_all(&cache, KidSource::Anyone, 10).await;
        assert!(
            errors.iter().all(|e| matches!(e, TokenError::UnknownKey)),
            "{errors:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1, "one fetch for the flood");
        verify_all(&cache, KidSource::Anyone, 10).await;
        assert_eq!(hits.load(Ordering::SeqCst), 1, "none within the interval");
    }

    /// A failing JWKS endpoint is asked once; the failure answers the next requests, and a
    /// failed fetch counts towards the rate limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_fetches_are_remembered() {
        let hits = Arc::new(AtomicUsize::new(0));
        let uri = slow_jwks_endpoint(Arc::clone(&hits), 0, "not json").await;
        let cache = Arc::new(KeyCache::new(uri, Duration::from_secs(3600)));
        let errors = verify_all(&cache, KidSource::Provider, 5).await;
        assert!(errors.iter().all(|e| e.is_unavailable()), "{errors:?}");
        let errors = verify_all(&cache, KidSource::Provider, 5).await;
        assert!(errors.iter().all(|e| e.is_unavailable()), "{errors:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the failure was remembered");
    }

    /// A fetcher dropped half-way strands nobody: a waiter fetches itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_fetch_strands_no_waiter() {
        let hits = Arc::new(AtomicUsize::new(0));
        let uri = slow_jwks_endpoint(Arc::clone(&hits), 300, r#"{"keys":[]}"#).await;
        let cache = Arc::new(KeyCache::new(uri, Duration::from_secs(10)));
        let first = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .verify(&http(), &token_with_kid("a"), KidSource::Provider)
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiter = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .verify(&http(), &token_with_kid("b"), KidSource::Provider)
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        first.abort();
        let result = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter finished")
            .expect("task");
        assert!(
            matches!(result, Err(TokenError::UnknownKey)),
            "{:?}",
            result.err()
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }
}
