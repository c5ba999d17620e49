//! The provider's discovery document and keys over the engine's life: fetched at start, or
//! in the background when the provider cannot be reached then, and refreshed periodically.
//!
//! Until the first fetch succeeds, auth routes and guarded requests answer 503 with
//! `Retry-After` (unguarded routes never ask), so a short provider outage does not turn an
//! instance's start into a crash loop. A configuration error, such as an issuer mismatch in
//! the discovery document, is still fatal at start.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use super::{Inner, StartError};
use crate::config::Config;
use crate::discovery::{DiscoveryError, ProviderMetadata};
use crate::http_client::ProviderHttp;
use crate::keys::KeyCache;
use crate::provider::Provider;

/// First wait after a failed fetch; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);
/// Refresh interval when the provider says nothing (`Cache-Control: max-age`), and bounds on
/// what it may say: no hammering, no week-old keys.
const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);
const MIN_REFRESH: Duration = Duration::from_secs(60);
const MAX_REFRESH: Duration = Duration::from_secs(24 * 3600);

/// The provider as last fetched; empty until the first fetch succeeds.
pub(crate) struct ProviderSlot {
    current: RwLock<Option<Arc<Provider>>>,
    /// Mirrors `current.is_some()`, read on every guarded request without a lock.
    ready: AtomicBool,
}

impl ProviderSlot {
    fn new(provider: Option<Provider>) -> Self {
        Self {
            ready: AtomicBool::new(provider.is_some()),
            current: RwLock::new(provider.map(Arc::new)),
        }
    }

    /// Whether discovery and keys were fetched at least once.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self) -> Option<Arc<Provider>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, provider: Provider) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(provider));
        self.ready.store(true, Ordering::Release);
    }
}

/// Why a fetch failed: worth retrying, or a configuration the provider contradicts.
enum FetchFailure {
    Retry(String),
    Config(StartError),
}

/// Discovery, then keys; `Ok` with how long the answers may be cached.
async fn fetch(
    http: &ProviderHttp,
    config: &Config,
) -> Result<(Provider, Option<Duration>), FetchFailure> {
    let (metadata, discovery_max_age) = match ProviderMetadata::fetch(http, &config.issuer).await {
        Ok(found) => found,
        Err(DiscoveryError::Config(error)) => {
            return Err(FetchFailure::Config(StartError::Config(error)))
        }
        Err(error) => return Err(FetchFailure::Retry(error.to_string())),
    };
    let keys = KeyCache::new(metadata.jwks_uri.clone(), config.jwks_refetch_interval);
    let keys_max_age = keys
        .fetch_now(http)
        .await
        .map_err(|error| FetchFailure::Retry(error.to_string()))?;
    let max_age = match (discovery_max_age, keys_max_age) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let provider = Provider {
        http: http.clone(),
        metadata: Arc::new(metadata),
        keys,
    };
    Ok((provider, max_age))
}

fn refresh_after(max_age: Option<Duration>) -> Duration {
    max_age
        .unwrap_or(DEFAULT_REFRESH)
        .clamp(MIN_REFRESH, MAX_REFRESH)
}

/// The first fetch, at start. Unreachable is not fatal when a Tokio runtime can retry it.
pub(super) async fn first_fetch(
    http: &ProviderHttp,
    config: &Config,
) -> Result<(ProviderSlot, Option<Duration>), StartError> {
    match fetch(http, config).await {
        Ok((provider, max_age)) => Ok((
            ProviderSlot::new(Some(provider)),
            Some(refresh_after(max_age)),
        )),
        Err(FetchFailure::Config(error)) => Err(error),
        Err(FetchFailure::Retry(reason)) if tokio::runtime::Handle::try_current().is_ok() => {
            tracing::warn!(%reason, "the provider cannot be reached; starting anyway and retrying in the background (auth routes and guarded requests answer 503 until then)");
            Ok((ProviderSlot::new(None), None))
        }
        Err(FetchFailure::Retry(reason)) => {
            Err(StartError::ProviderUnreachable(reason.to_string()))
        }
    }
}

/// Keeps the provider fresh for as long as the engine lives: retries until the first fetch
/// succeeds, then refreshes discovery and keys every `max-age` (bounded). A failed refresh
/// keeps what was fetched before.
pub(super) fn watch(engine: &Arc<Inner>, first_refresh: Option<Duration>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let engine = Arc::downgrade(engine);
    runtime.spawn(async move {
        let mut wait = first_refresh.unwrap_or(FIRST_RETRY);
        let mut retry = FIRST_RETRY;
        loop {
            tokio::time::sleep(wait).await;
            match refresh_once(&engine).await {
                None => return, // the engine is gone
                Some(Ok(max_age)) => {
                    retry = FIRST_RETRY;
                    wait = refresh_after(max_age);
                }
                Some(Err(())) => {
                    wait = retry;
                    retry = (retry * 2).min(MAX_RETRY);
                }
            }
        }
    });
}

async fn refresh_once(engine: &Weak<Inner>) -> Option<Result<Option<Duration>, ()>> {
    let inner = engine.upgrade()?;
    let was_ready = inner.provider.is_ready();
    let outcome = match fetch(&inner.http, &inner.config).await {
        Ok((provider, max_age)) => {
            inner.provider.set(provider);
            if !was_ready {
                tracing::info!(issuer = %inner.config.issuer, "the provider is reachable; sign-in is available");
            } else {
                tracing::debug!("provider metadata and keys refreshed");
            }
            Ok(max_age)
        }
        Err(FetchFailure::Config(error)) => {
            tracing::error!(%error, "the provider's discovery document contradicts the configuration; retrying");
            Err(())
        }
        Err(FetchFailure::Retry(reason)) if was_ready => {
            tracing::warn!(%reason, "could not refresh the provider's metadata and keys; keeping the current ones");
            Err(())
        }
        Err(FetchFailure::Retry(reason)) => {
            tracing::warn!(%reason, "the provider is still unreachable; retrying");
            Err(())
        }
    };
    Some(outcome)
}
