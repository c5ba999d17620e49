//! The app-side secrets: the session key (cookie MAC and transaction encryption), random ids,
//! PKCE and base64url helpers. Everything here uses `ring`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::digest;
use ring::hkdf;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Keys derived from `SESSION_KEY` with HKDF-SHA256: one for MACs, one for AEAD (cookies),
/// and one for stores that seal sessions at rest.
#[derive(Clone)]
pub(crate) struct SessionKey {
    mac: hmac::Key,
    /// DPoP nonces: a key of their own, so that no nonce is ever a valid signed cookie.
    nonce_mac: hmac::Key,
    aead: std::sync::Arc<LessSafeKey>,
    store: crate::store::SealingKey,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(***)")
    }
}

struct KeyLen(usize);

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        self.0
    }
}

impl SessionKey {
    pub(crate) fn from_secret(secret: &str) -> Result<Self, String> {
        if secret.len() < 32 {
            return Err(
                "SESSION_KEY must be at least 32 characters (for example 64 hex digits from `openssl rand -hex 32`)"
                    .into(),
            );
        }
        Self::derive(secret.as_bytes())
    }

    pub(crate) fn generate() -> Result<Self, String> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| "the system random generator failed".to_string())?;
        Self::derive(&bytes)
    }

    fn derive(secret: &[u8]) -> Result<Self, String> {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"ping-oidc session key v1");
        let prk = salt.extract(secret);
        let expand = |label: &'static [u8]| -> Result<[u8; 32], String> {
            let mut out = [0u8; 32];
            let info = [label];
            prk.expand(&info, KeyLen(32))
                .and_then(|okm| okm.fill(&mut out))
                .map_err(|_| "key derivation failed".to_string())?;
            Ok(out)
        };
        let mac_bytes = expand(b"cookie-mac")?;
        let aead = |bytes: [u8; 32]| {
            UnboundKey::new(&AES_256_GCM, &bytes)
                .map(|unbound| std::sync::Arc::new(LessSafeKey::new(unbound)))
                .map_err(|_| "key setup failed".to_string())
        };
        Ok(Self {
            mac: hmac::Key::new(hmac::HMAC_SHA256, &mac_bytes),
            nonce_mac: hmac::Key::new(hmac::HMAC_SHA256, &expand(b"dpop-nonce-mac")?),
            aead: aead(expand(b"transaction-aead")?)?,
            store: crate::store::SealingKey(aead(expand(b"store-aead")?)?),
        })
    }

    /// The key a store seals sessions with (its own HKDF label).
    pub(crate) fn store_key(&self) -> crate::store::SealingKey {
        self.store.clone()
    }

    /// base64url HMAC-SHA256 of `data`.
    pub(crate) fn sign(&self, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.mac, data).as_ref())
    }

    /// base64url HMAC-SHA256 of `data` under the DPoP nonce key.
    pub(crate) fn sign_nonce(&self, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.nonce_mac, data).as_ref())
    }

    /// Constant-time check of a base64url tag made by [`SessionKey::sign`].
    pub(crate) fn verify(&self, data: &[u8], tag_b64: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(tag_b64) {
            Ok(tag) => hmac::verify(&self.mac, data, &tag).is_ok(),
            Err(_) => false,
        }
    }

    /// Encrypts `plaintext`, bound to `context`; returns base64url(nonce || ciphertext || tag).
    pub(crate) fn seal(&self, context: &[u8], plaintext: &[u8]) -> Option<String> {
        seal_with(&self.aead, context, plaintext)
    }

    /// Decrypts what [`SessionKey::seal`] made with the same `context`.
    pub(crate) fn open(&self, context: &[u8], sealed_b64: &str) -> Option<Vec<u8>> {
        open_with(&self.aead, context, sealed_b64)
    }
}

/// AES-256-GCM with a random nonce: base64url(nonce || ciphertext || tag).
pub(crate) fn seal_with(key: &LessSafeKey, context: &[u8], plaintext: &[u8]) -> Option<String> {
    let mut nonce_bytes = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce_bytes).ok()?;
    let mut buffer = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(context),
        &mut buffer,
    )
    .ok()?;
    let mut out = Vec::with_capacity(NONCE_LEN + buffer.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&buffer);
    Some(URL_SAFE_NO_PAD.encode(out))
}

/// Opens what [`seal_with`] made with the same key and `context`.
pub(crate) fn open_with(key: &LessSafeKey, context: &[u8], sealed_b64: &str) -> Option<Vec<u8>> {
    let mut data = URL_SAFE_NO_PAD.decode(sealed_b64).ok()?;
    if data.len() < NONCE_LEN + aead::AES_256_GCM.tag_len() {
        return None;
    }
    let nonce = Nonce::try_assume_unique_for_key(&data[..NONCE_LEN]).ok()?;
    let mut body = data.split_off(NONCE_LEN);
    let plain = key
        .open_in_place(nonce, Aad::from(context), &mut body)
        .ok()?;
    Some(plain.to_vec())
}

/// `n` random bytes as base64url.
pub(crate) fn random_token(n: usize) -> Option<String> {
    let mut bytes = vec![0u8; n];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// PKCE S256: base64url(SHA-256(verifier)).
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

pub(crate) fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url (RFC 7515 §2): no `=` padding, no stray bits.
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Equal strings, compared in constant time for equal lengths, with `subtle` (already in the
/// tree through rustls). Eight bytes at a time: `subtle`'s byte-by-byte slice comparison
/// costs about ten instructions a byte, a thousand on every guarded request (callgrind).
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut equal = words_a.remainder().ct_eq(words_b.remainder());
    let word = |chunk: &[u8]| u64::from_ne_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
    for (x, y) in words_a.zip(words_b) {
        equal &= word(x).ct_eq(&word(y));
    }
    bool::from(equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_every_byte() {
        for len in 0..20 {
            let base: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
            assert!(constant_time_eq(&base, &base));
            assert!(!constant_time_eq(&base, &format!("{base}a")));
            for at in 0..len {
                let mut changed = base.clone().into_bytes();
                changed[at] = b'Z';
                let changed = String::from_utf8(changed).unwrap_or_default();
                assert!(!constant_time_eq(&base, &changed), "{len} {at}");
            }
        }
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let key = SessionKey::from_secret("0123456789abcdef0123456789abcdef").expect("key");
        let sealed = key.seal(b"ctx", b"hello").expect("sealed");
        assert_eq!(key.open(b"ctx", &sealed).as_deref(), Some(&b"hello"[..]));
        assert!(key.open(b"other", &sealed).is_none());
        let other = SessionKey::from_secret("fedcba9876543210fedcba9876543210").expect("key");
        assert!(other.open(b"ctx", &sealed).is_none());
        assert!(key.open(b"ctx", "!!!").is_none());
        assert!(key.open(b"ctx", "").is_none());
    }

    #[test]
    fn mac_verifies_and_rejects() {
        let key = SessionKey::generate().expect("key");
        let tag = key.sign(b"abc");
        assert!(key.verify(b"abc", &tag));
        assert!(!key.verify(b"abd", &tag));
        assert!(!key.verify(b"abc", "not base64 !"));
    }
}
