//! DPoP proofs (RFC 9449) sent with DPoP-bound access tokens: `Authorization: DPoP <token>`
//! and a `DPoP: <proof>` header, a JWT signed with the caller's own key. The checks of §4.3
//! that need no I/O live here; the replay check of `jti` goes through the session store.

use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use url::Url;

use crate::crypto::{b64url_encode, SessionKey};
use crate::jose::{PublicKey, UnverifiedJws};

/// How old a proof may be (its `iat`), besides the clock skew.
pub(crate) const MAX_PROOF_AGE_SECS: i64 = 60;
/// How long a server nonce is good for: one period, and the one before it.
const NONCE_PERIOD_SECS: i64 = 300;
/// Longest `DPoP` header read; a proof with an RSA key is about 1.5 KiB.
const MAX_PROOF_BYTES: usize = 4 * 1024;
/// Longest `jti` kept in the replay cache.
const MAX_JTI_BYTES: usize = 256;

/// What the request says the proof must match.
pub(crate) struct ProofExpectations<'a> {
    /// The request method, upper case.
    pub method: &'a str,
    /// The request's URL without query or fragment: the app's origin and the path.
    pub uri: &'a Url,
    /// The access token sent with the proof.
    pub access_token: &'a str,
    pub now: i64,
    pub skew: i64,
    /// When server nonces are on, the key they are made with.
    pub nonces: Option<&'a SessionKey>,
}

/// A proof that held: its key's thumbprint (to match the token's `cnf.jkt`) and its `jti`.
#[derive(Debug)]
pub(crate) struct CheckedProof {
    pub jkt: String,
    pub jti: String,
}

/// Why a proof was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ProofError {
    /// `invalid_dpop_proof`, with what failed (logged, not told).
    Invalid(&'static str),
    /// `use_dpop_nonce`: nonces are on and the proof has no current one.
    UseNonce,
}

/// RFC 9449 §4.3 steps 2–11, and the `ath` of step 12 (the key's binding to the token is the
/// caller's, once the token is verified).
pub(crate) fn check_proof(
    proof: &str,
    expect: &ProofExpectations<'_>,
) -> Result<CheckedProof, ProofError> {
    use ProofError::Invalid;
    if proof.len() > MAX_PROOF_BYTES {
        return Err(Invalid("the proof is too long"));
    }
    // Steps 2–5: a JWS with typ dpop+jwt and an asymmetric algorithm (the parser knows no
    // other).
    let jws = UnverifiedJws::parse(proof).map_err(|_| Invalid("not a signed JWT"))?;
    if jws.typ.as_deref() != Some("dpop+jwt") {
        return Err(Invalid("typ is not dpop+jwt"));
    }
    let key = jws
        .jwk
        .as_ref()
        .and_then(PublicKey::from_embedded)
        .ok_or(Invalid("no usable public jwk in the header"))?;
    // The claims are read before the signature is checked, so a proof for another request
    // costs no signature check; nothing is trusted until step 6 below passes.
    let claims: Map<String, Value> =
        serde_json::from_slice(&jws.payload).map_err(|_| Invalid("claims are not JSON"))?;
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .ok_or(Invalid(name))
    };
    let jti = text("jti")?;
    if jti.len() > MAX_JTI_BYTES {
        return Err(Invalid("jti is too long"));
    }
    // Step 8.
    if text("htm")? != expect.method {
        return Err(Invalid("htm"));
    }
    // Step 9: the URI without query and fragment, after syntax- and scheme-based
    // normalisation (RFC 3986 §6.2.2–6.2.3): `Url` does case, default port and dot
    // segments; `normalized_path` does percent-encoding.
    if !same_target(text("htu")?, expect.uri) {
        return Err(Invalid("htu"));
    }
    // Step 10.
    if let Some(key) = expect.nonces {
        let fresh = claims
            .get("nonce")
            .and_then(Value::as_str)
            .is_some_and(|nonce| nonce_is_current(key, nonce, expect.now));
        if !fresh {
            return Err(ProofError::UseNonce);
        }
    }
    // Step 11.
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(Invalid("iat"))?;
    if iat > expect.now.saturating_add(expect.skew)
        || iat.saturating_add(MAX_PROOF_AGE_SECS + expect.skew) < expect.now
    {
        return Err(Invalid("iat outside the window"));
    }
    // Step 12, first half: `ath` is the hash of this access token.
    let ath = b64url_encode(
        ring::digest::digest(&ring::digest::SHA256, expect.access_token.as_bytes()).as_ref(),
    );
    if text("ath")? != ath {
        return Err(Invalid("ath"));
    }
    // Steps 6–7: the signature, with the public key in the header (public members only).
    if !jws.verify_with(&key) {
        return Err(Invalid("bad signature"));
    }
    Ok(CheckedProof {
        jkt: key.thumbprint(),
        jti: jti.to_string(),
    })
}

/// How long a `jti` must be remembered: as long as its proof could still pass the `iat` check
/// (and a second more: times are whole seconds).
pub(crate) fn replay_window_secs(skew: i64) -> u64 {
    u64::try_from(MAX_PROOF_AGE_SECS + 2 * skew.max(0) + 1).unwrap_or(u64::MAX)
}

fn same_target(htu: &str, uri: &Url) -> bool {
    let Ok(mut htu) = Url::parse(htu) else {
        return false;
    };
    htu.set_query(None);
    htu.set_fragment(None);
    htu.scheme() == uri.scheme()
        && htu.host_str() == uri.host_str()
        && htu.port_or_known_default() == uri.port_or_known_default()
        && normalized_path(htu.path()) == normalized_path(uri.path())
}

/// RFC 3986 §6.2.2.1–2: `%XX` of an unreserved character is that character, and other
/// escapes compare with upper-case hex digits. A path with no `%` is returned as it is.
fn normalized_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains('%') {
        return std::borrow::Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            // Two hex digits exactly: `from_str_radix` alone would also take `+1`.
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) if decoded.is_ascii_alphanumeric() || b"-._~".contains(&decoded) => {
                out.push(char::from(decoded));
                i += 3;
            }
            Some(decoded) => {
                use std::fmt::Write as _;
                let _ = write!(out, "%{decoded:02X}");
                i += 3;
            }
            None => {
                // `Url` has already escaped everything outside ASCII, so bytes are chars.
                out.push(char::from(byte));
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A server nonce (RFC 9449 §9): the period number and a MAC of it, so any instance with the
/// same session key accepts it without shared state.
pub(crate) fn nonce(key: &SessionKey, now: i64) -> String {
    nonce_for_period(key, now.div_euclid(NONCE_PERIOD_SECS))
}

fn nonce_for_period(key: &SessionKey, period: i64) -> String {
    let tag = key.sign_nonce(format!("dpop-nonce:{period}").as_bytes());
    format!("{period}.{tag}")
}

/// This period's nonce or the last one's.
fn nonce_is_current(key: &SessionKey, nonce: &str, now: i64) -> bool {
    let period = now.div_euclid(NONCE_PERIOD_SECS);
    [period, period - 1].into_iter().any(|period| {
        nonce_for_period(key, period)
            .as_bytes()
            .ct_eq(nonce.as_bytes())
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    struct Signer {
        pair: EcdsaKeyPair,
    }

    impl Signer {
        fn new() -> Self {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .expect("key");
            Self { pair }
        }

        fn jwk(&self) -> Value {
            let point = self.pair.public_key().as_ref();
            json!({"kty": "EC", "crv": "P-256",
                   "x": b64url_encode(&point[1..33]), "y": b64url_encode(&point[33..])})
        }

        fn sign(&self, header: &Value, claims: &Value) -> String {
            let input = format!(
                "{}.{}",
                b64url_encode(header.to_string().as_bytes()),
                b64url_encode(claims.to_string().as_bytes())
            );
            let signature = self
                .pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .expect("sign");
            format!("{input}.{}", b64url_encode(signature.as_ref()))
        }

        fn proof(&self, claims: &Value) -> String {
            self.sign(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()}),
                claims,
            )
        }
    }

    fn ath(token: &str) -> String {
        b64url_encode(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
    }

    fn good_claims() -> Value {
        json!({"jti": "j1", "htm": "GET", "htu": "https://api.example/mcp?x=1", "iat": 1_000,
               "ath": ath("tok")})
    }

    fn check(
        proof: &str,
        nonces: Option<&SessionKey>,
        now: i64,
    ) -> Result<CheckedProof, ProofError> {
        let uri = Url::parse("https://API.example:443/mcp").expect("url");
        check_proof(
            proof,
            &ProofExpectations {
                method: "GET",
                uri: &uri,
                access_token: "tok",
                now,
                skew: 5,
                nonces,
            },
        )
    }

    #[test]
    fn accepts_a_good_proof_and_names_its_key() {
        let signer = Signer::new();
        let proof = check(&signer.proof(&good_claims()), None, 1_010).expect("valid");
        assert_eq!(proof.jti, "j1");
        let key = PublicKey::from_embedded(&signer.jwk()).expect("key");
        assert_eq!(proof.jkt, key.thumbprint());
        assert_eq!(proof.jkt.len(), 43);
    }

    #[test]
    fn htu_compares_after_percent_encoding_normalisation() {
        let uri = Url::parse("https://api.example/tools/a%2fb").expect("url");
        for same in [
            "https://api.example/tools/a%2Fb",
            "https://API.example:443/t%6Fols/a%2fb?q=1",
            "https://api.example/x/../tools/a%2fb#f",
        ] {
            assert!(same_target(same, &uri), "{same}");
        }
        for other in [
            "https://api.example/tools/a/b",
            "https://api.example/tools/a%2fc",
            "http://api.example/tools/a%2fb",
            "https://api.example/tools/a%2",
        ] {
            assert!(!same_target(other, &uri), "{other}");
        }
        let control = Url::parse("https://api.example/a%01").expect("url");
        for other in ["https://api.example/a%+1", "https://api.example/a%-1"] {
            assert!(!same_target(other, &control), "{other}");
        }
        assert_eq!(normalized_path("/a%7e%41%zz%"), "/a~A%zz%");
    }

    #[test]
    fn refuses_what_rfc_9449_refuses() {
        let signer = Signer::new();
        let with = |name: &str, value: Value| {
            let mut claims = good_claims();
            claims[name] = value;
            check(&signer.proof(&claims), None, 1_010)
        };
        assert_eq!(
            with("htm", json!("POST")).err(),
            Some(ProofError::Invalid("htm"))
        );
        assert_eq!(
            with("htu", json!("https://api.example/other")).err(),
            Some(ProofError::Invalid("htu"))
        );
        assert_eq!(
            with("ath", json!("nope")).err(),
            Some(ProofError::Invalid("ath"))
        );
        assert!(with("iat", json!(900)).is_err(), "too old");
        assert!(with("iat", json!(1_100)).is_err(), "in the future");
        assert!(with("jti", json!("")).is_err());
        assert!(with("jti", json!("x".repeat(300))).is_err());

        let typ = signer.sign(
            &json!({"typ": "JWT", "alg": "ES256", "jwk": signer.jwk()}),
            &good_claims(),
        );
        assert!(check(&typ, None, 1_010).is_err());
        let mut private = signer.jwk();
        private["d"] = json!("AAAA");
        let private = signer.sign(
            &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
            &good_claims(),
        );
        assert!(check(&private, None, 1_010).is_err());
        let other = Signer::new();
        let wrong_key = other.sign(
            &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": signer.jwk()}),
            &good_claims(),
        );
        assert_eq!(
            check(&wrong_key, None, 1_010).err(),
            Some(ProofError::Invalid("bad signature"))
        );
        let none = format!(
            "{}.{}.",
            b64url_encode(br#"{"typ":"dpop+jwt","alg":"none"}"#),
            b64url_encode(good_claims().to_string().as_bytes())
        );
        assert!(check(&none, None, 1_010).is_err());
    }

    #[test]
    fn server_nonces_rotate_and_are_required_when_on() {
        let key = SessionKey::generate().expect("key");
        let signer = Signer::new();
        assert_eq!(
            check(&signer.proof(&good_claims()), Some(&key), 1_010).err(),
            Some(ProofError::UseNonce)
        );
        let mut claims = good_claims();
        claims["nonce"] = json!(nonce(&key, 1_010));
        assert!(check(&signer.proof(&claims), Some(&key), 1_010).is_ok());
        assert!(nonce_is_current(
            &key,
            &nonce(&key, 1_010),
            1_010 + NONCE_PERIOD_SECS
        ));
        assert!(!nonce_is_current(
            &key,
            &nonce(&key, 1_010),
            1_010 + 2 * NONCE_PERIOD_SECS
        ));
        let other = SessionKey::generate().expect("key");
        assert!(!nonce_is_current(&other, &nonce(&key, 1_010), 1_010));
        // Not a MAC under the cookie key: a nonce is never a signed session cookie.
        let issued = nonce(&key, 1_010);
        let (period, tag) = issued.split_once('.').expect("period.tag");
        assert!(!key.verify(format!("dpop-nonce:{period}").as_bytes(), tag));
    }
}
