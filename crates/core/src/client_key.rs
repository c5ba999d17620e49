//! The client's own keys: signed JWTs for client authentication (`client_secret_jwt` and
//! `private_key_jwt`, RFC 7523 §2.2 and OIDC Core §9) and for signed request objects
//! (RFC 9101), and the public half served at `/auth/jwks`.
//!
//! ```no_run
//! use ping_oidc::{ClientKey, Config, TokenAuthMethod};
//!
//! let key = ClientKey::from_file("client-key.pem", Some("client-key-1"))?;
//! let config = Config::builder()
//!     .issuer("https://auth.pingone.eu/5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11/as")
//!     .client_id("my-client")
//!     .token_auth_method(TokenAuthMethod::PrivateKeyJwt)
//!     .private_key(key)
//!     .build()?;
//! # Ok::<(), ping_oidc::ConfigError>(())
//! ```
//!
//! Keys are RSA (2048 bits or more; RS256 by default, which both PingOne and PingFederate
//! accept, or PS256 and the rest through [`ClientKey::with_algorithm`]) or EC P-256 (ES256).
//! A PEM file holds PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`); an EC
//! key in SEC1 form (`BEGIN EC PRIVATE KEY`) is refused with the command that converts it,
//! because ring reads EC keys only as PKCS#8. A JWK file holds one private JWK.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use serde_json::{json, Map, Value};

use crate::crypto::{b64url_decode, b64url_encode, random_token};
use crate::jose::Algorithm;
use crate::ConfigError;

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub(crate) const JWT_BEARER_ASSERTION: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion is valid. Short, since each is made for one call.
const ASSERTION_LIFETIME_SECS: u64 = 60;

/// How long a signed request object is valid: the browser carries it to the provider.
const REQUEST_OBJECT_LIFETIME_SECS: u64 = 300;

/// The RSA padding and hash of `alg`; `None` for the EC algorithms.
fn rsa_padding(alg: Algorithm) -> Option<&'static dyn signature::RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// The client's private signing key, with its `kid` and algorithm. Only the public half is
/// ever shown: `Debug` prints the `kid` and the algorithm.
pub struct ClientKey {
    kid: String,
    alg: Algorithm,
    pair: Pair,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn key_error(message: impl Into<String>) -> ConfigError {
    crate::config::setting_error("private_key", message)
}

impl ClientKey {
    /// Reads a key file: a private JWK when it starts with `{`, else PEM. `kid` names the key
    /// (`OIDC_PRIVATE_KEY_ID`); without one, a JWK's own `kid` or else the RFC 7638 thumbprint.
    pub fn from_file(
        path: impl AsRef<std::path::Path>,
        kid: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|e| {
            key_error(format!(
                "could not read the private key file {}: {e}",
                path.display()
            ))
        })?;
        if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            let json = std::str::from_utf8(&text)
                .map_err(|_| key_error("the private key file is not UTF-8 JSON"))?;
            Self::from_jwk(json, kid)
        } else {
            Self::from_pem(&text, kid)
        }
    }

    /// A key from PEM: PKCS#8 (RSA or EC P-256) or PKCS#1 (RSA).
    pub fn from_pem(pem: &[u8], kid: Option<&str>) -> Result<Self, ConfigError> {
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|_| key_error("the private key is not a PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)"))?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(pkcs8) => {
                let bytes = pkcs8.secret_pkcs8_der();
                match RsaKeyPair::from_pkcs8(bytes) {
                    Ok(pair) => Pair::Rsa(pair),
                    Err(rsa_error) => EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        bytes,
                        &SystemRandom::new(),
                    )
                    .map(Pair::Ec)
                    .map_err(|_| {
                        key_error(format!(
                            "the private key is neither a usable RSA key ({rsa_error}) nor an EC P-256 key"
                        ))
                    })?,
                }
            }
            PrivateKeyDer::Pkcs1(pkcs1) => RsaKeyPair::from_der(pkcs1.secret_pkcs1_der())
                .map(Pair::Rsa)
                .map_err(|e| key_error(format!("the RSA private key is not usable: {e}")))?,
            _ => {
                return Err(key_error(
                    "EC keys must be PKCS#8: convert with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-pkcs8.pem`",
                ))
            }
        };
        Ok(Self::new(pair, kid, None))
    }

    /// A key from a private JWK (`kty` `RSA` with `d`, `p`, `q`, `dp`, `dq`, `qi`, or `EC` on
    /// `P-256` with `d`). Its `alg`, when present, is the signing algorithm.
    pub fn from_jwk(json: &str, kid: Option<&str>) -> Result<Self, ConfigError> {
        let jwk: Map<String, Value> = serde_json::from_str(json)
            .map_err(|_| key_error("the private key is not a JWK (a JSON object)"))?;
        let field = |name: &str| -> Result<Vec<u8>, ConfigError> {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(b64url_decode)
                .ok_or_else(|| key_error(format!("the private JWK lacks `{name}`")))
        };
        let pair = match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let components = ring::rsa::KeyPairComponents {
                    public_key: ring::rsa::PublicKeyComponents {
                        n: field("n")?,
                        e: field("e")?,
                    },
                    d: field("d")?,
                    p: field("p")?,
                    q: field("q")?,
                    dP: field("dp")?,
                    dQ: field("dq")?,
                    qInv: field("qi")?,
                };
                RsaKeyPair::from_components(&components)
                    .map(Pair::Rsa)
                    .map_err(|e| key_error(format!("the RSA JWK is not usable: {e}")))?
            }
            Some("EC") => {
                if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                    return Err(key_error("EC keys must be on P-256 (ES256)"));
                }
                let mut point = vec![4u8];
                point.extend(field("x")?);
                point.extend(field("y")?);
                EcdsaKeyPair::from_private_key_and_public_key(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &field("d")?,
                    &point,
                    &SystemRandom::new(),
                )
                .map(Pair::Ec)
                .map_err(|e| key_error(format!("the EC JWK is not usable: {e}")))?
            }
            _ => return Err(key_error("the JWK's `kty` must be RSA or EC")),
        };
        let own_kid = jwk.get("kid").and_then(Value::as_str);
        let key = Self::new(pair, kid.or(own_kid), None);
        match jwk.get("alg").and_then(Value::as_str) {
            Some(alg) => key.with_algorithm(
                Algorithm::parse(alg)
                    .map_err(|_| key_error(format!("the JWK's alg `{alg}` is not supported")))?,
            ),
            None => Ok(key),
        }
    }

    fn new(pair: Pair, kid: Option<&str>, alg: Option<Algorithm>) -> Self {
        let alg = alg.unwrap_or(match pair {
            Pair::Rsa(_) => Algorithm::RS256,
            Pair::Ec(_) => Algorithm::ES256,
        });
        let mut key = Self {
            kid: String::new(),
            alg,
            pair,
        };
        key.kid = match kid.filter(|k| !k.is_empty()) {
            Some(kid) => kid.to_owned(),
            None => key.thumbprint(),
        };
        key
    }

    /// Signs with `alg` instead: RS/PS 256/384/512 for RSA keys, ES256 for EC keys.
    pub fn with_algorithm(mut self, alg: Algorithm) -> Result<Self, ConfigError> {
        let fits = match self.pair {
            Pair::Rsa(_) => rsa_padding(alg).is_some(),
            Pair::Ec(_) => alg == Algorithm::ES256,
        };
        if !fits {
            return Err(key_error(format!(
                "{} does not fit this key's type",
                alg.name()
            )));
        }
        self.alg = alg;
        Ok(self)
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm it signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK (with `kid`, `alg` and `use: sig`).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.public_members();
        jwk.insert("kid".into(), Value::String(self.kid.clone()));
        jwk.insert("alg".into(), Value::String(self.alg.name().into()));
        jwk.insert("use".into(), Value::String("sig".into()));
        Value::Object(jwk)
    }

    /// The members RFC 7638 §3.2 requires, which are also the public key.
    fn public_members(&self) -> Map<String, Value> {
        let mut jwk = Map::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                jwk.insert("e".into(), b64url_encode(&public.e).into());
                jwk.insert("kty".into(), "RSA".into());
                jwk.insert("n".into(), b64url_encode(&public.n).into());
            }
            Pair::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let (x, y) = point
                    .get(1..)
                    .unwrap_or_default()
                    .split_at(point.len().saturating_sub(1) / 2);
                jwk.insert("crv".into(), "P-256".into());
                jwk.insert("kty".into(), "EC".into());
                jwk.insert("x".into(), b64url_encode(x).into());
                jwk.insert("y".into(), b64url_encode(y).into());
            }
        }
        jwk
    }

    /// RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace
    /// (serde_json's map is sorted, and its compact form has none).
    fn thumbprint(&self) -> String {
        let canonical = Value::Object(self.public_members()).to_string();
        b64url_encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// A compact JWS of `claims`, with `kid` and `typ` in the header.
    pub(crate) fn sign_jwt(&self, typ: Option<&str>, claims: &Value) -> Option<String> {
        let mut header = json!({ "alg": self.alg.name(), "kid": self.kid });
        if let Some(typ) = typ {
            header["typ"] = Value::String(typ.into());
        }
        let signing_input = format!(
            "{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(
                    rsa_padding(self.alg)?,
                    &rng,
                    signing_input.as_bytes(),
                    &mut signature,
                )
                .ok()?;
                signature
            }
            Pair::Ec(pair) => pair
                .sign(&rng, signing_input.as_bytes())
                .ok()?
                .as_ref()
                .to_vec(),
        };
        Some(format!("{signing_input}.{}", b64url_encode(&signature)))
    }
}

/// A compact JWS of `claims` with HMAC under the client secret (`client_secret_jwt`).
pub(crate) fn hmac_jwt(secret: &str, alg: &str, claims: &Value) -> Option<String> {
    let algorithm = match alg {
        "HS256" => ring::hmac::HMAC_SHA256,
        "HS384" => ring::hmac::HMAC_SHA384,
        "HS512" => ring::hmac::HMAC_SHA512,
        _ => return None,
    };
    let header = json!({ "alg": alg });
    let signing_input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    let key = ring::hmac::Key::new(algorithm, secret.as_bytes());
    let tag = ring::hmac::sign(&key, signing_input.as_bytes());
    Some(format!("{signing_input}.{}", b64url_encode(tag.as_ref())))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The claims of a client assertion (RFC 7523 §3): the client as `iss` and `sub`, `aud` the
/// provider's token endpoint (or its issuer, [`crate::AssertionAudience`]), a fresh `jti`
/// and a one-minute `exp`.
///
/// `aud` is the token endpoint URL at every endpoint: OIDC Core §9 says so, PingOne and
/// PingFederate both document it, and RFC 7523 allows it for the other endpoints of the
/// same server. (The issuer, which RFC 7523bis moves to, is not accepted by every
/// PingFederate version.)
pub(crate) fn assertion_claims(client_id: &str, audience: &str) -> Option<Value> {
    let now = unix_now();
    Some(json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": random_token(18)?,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
    }))
}

/// The claims of a signed request object (RFC 9101 §4): the authorization request's
/// parameters, with `iss` the client, `aud` the issuer, and `iat`, `nbf`, `exp`, `jti`.
pub(crate) fn request_object_claims(
    client_id: &str,
    issuer: &str,
    params: &[(&str, &str)],
) -> Option<Value> {
    let mut claims = Map::new();
    for (name, value) in params {
        let value = match *name {
            // OIDC Core §6.1: `max_age` is a number in a request object.
            "max_age" => Value::from(value.parse::<u64>().ok()?),
            _ => Value::String((*value).to_owned()),
        };
        match claims.get_mut(*name) {
            // A repeated parameter (`resource`) becomes an array.
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                claims.insert((*name).to_owned(), value);
            }
        }
    }
    let now = unix_now();
    claims.insert("iss".into(), client_id.into());
    claims.insert("aud".into(), issuer.into());
    claims.insert("iat".into(), now.into());
    claims.insert("nbf".into(), now.into());
    claims.insert("exp".into(), (now + REQUEST_OBJECT_LIFETIME_SECS).into());
    claims.insert("jti".into(), random_token(18)?.into());
    Some(Value::Object(claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_PKCS8: &str = include_str!("../testdata/client-key-rsa.pem");
    const EC_PKCS8: &str = include_str!("../testdata/client-key-ec.pem");
    const EC_SEC1: &str = include_str!("../testdata/client-key-ec-sec1.pem");

    fn verify(key: &ClientKey, jwt: &str) -> bool {
        let jwk = key.public_jwk();
        let keys =
            crate::jose::parse_jwks(json!({ "keys": [jwk] }).to_string().as_bytes()).expect("jwks");
        let jws = crate::jose::UnverifiedJws::parse(jwt).expect("jws");
        keys.iter().any(|k| jws.verify_with(k))
    }

    #[test]
    fn rsa_and_ec_keys_sign_what_their_public_jwk_verifies() {
        let rsa = ClientKey::from_pem(RSA_PKCS8.as_bytes(), Some("k1")).expect("rsa");
        assert_eq!((rsa.kid(), rsa.algorithm()), ("k1", Algorithm::RS256));
        let claims = json!({ "iss": "me" });
        assert!(verify(&rsa, &rsa.sign_jwt(None, &claims).expect("sign")));
        let pss = ClientKey::from_pem(RSA_PKCS8.as_bytes(), None)
            .expect("rsa")
            .with_algorithm(Algorithm::PS256)
            .expect("ps256");
        assert!(verify(
            &pss,
            &pss.sign_jwt(Some("x"), &claims).expect("sign")
        ));
        let ec = ClientKey::from_pem(EC_PKCS8.as_bytes(), None).expect("ec");
        assert_eq!(ec.algorithm(), Algorithm::ES256);
        assert!(verify(&ec, &ec.sign_jwt(None, &claims).expect("sign")));
        assert!(ec.with_algorithm(Algorithm::RS256).is_err());
    }

    #[test]
    fn a_private_jwk_is_the_same_key_as_its_pem() {
        for (pem, jwk) in [
            (
                RSA_PKCS8,
                include_str!("../testdata/client-key-rsa.jwk.json"),
            ),
            (EC_PKCS8, include_str!("../testdata/client-key-ec.jwk.json")),
        ] {
            let from_pem = ClientKey::from_pem(pem.as_bytes(), Some("k")).expect("pem");
            let from_jwk = ClientKey::from_jwk(jwk, Some("k")).expect("jwk");
            assert_eq!(from_pem.public_jwk(), from_jwk.public_jwk());
            let jwt = from_jwk.sign_jwt(None, &json!({})).expect("sign");
            assert!(verify(&from_pem, &jwt));
        }
        let with_alg = include_str!("../testdata/client-key-rsa.jwk.json").replacen(
            '{',
            r#"{"alg":"PS384","#,
            1,
        );
        let key = ClientKey::from_jwk(&with_alg, None).expect("jwk with alg");
        assert_eq!(key.algorithm(), Algorithm::PS384);
    }

    #[test]
    fn a_private_jwk_round_trips_through_its_public_half() {
        let pem = ClientKey::from_pem(EC_PKCS8.as_bytes(), None).expect("ec");
        // The thumbprint is stable and is the default kid.
        assert_eq!(pem.kid(), pem.thumbprint());
        assert_eq!(pem.kid().len(), 43);
        let bad = ClientKey::from_jwk(
            r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#,
            None,
        );
        assert!(bad.is_err());
        assert!(ClientKey::from_jwk(r#"{"kty":"oct","k":"AA"}"#, None).is_err());
        assert!(ClientKey::from_jwk("not json", None).is_err());
    }

    #[test]
    fn sec1_and_garbage_get_clear_errors() {
        let error = ClientKey::from_pem(EC_SEC1.as_bytes(), None).expect_err("sec1");
        assert!(error.to_string().contains("openssl pkcs8"), "{error}");
        assert!(ClientKey::from_pem(b"hello", None).is_err());
        let key = ClientKey::from_pem(RSA_PKCS8.as_bytes(), Some("k")).expect("rsa");
        let debug = format!("{key:?}");
        assert!(!debug.contains("MII") && debug.contains("\"k\""), "{debug}");
    }

    #[test]
    fn request_objects_keep_repeated_parameters_and_number_max_age() {
        let claims = request_object_claims(
            "rp",
            "https://op",
            &[
                ("resource", "a"),
                ("resource", "b"),
                ("max_age", "60"),
                ("scope", "openid"),
            ],
        )
        .expect("claims");
        assert_eq!(claims["resource"], json!(["a", "b"]));
        assert_eq!(claims["max_age"], json!(60));
        assert_eq!(claims["aud"], "https://op");
        assert!(claims["exp"].as_u64() > claims["iat"].as_u64());
    }

    #[test]
    fn hmac_assertions_use_the_named_hash() {
        let claims = assertion_claims("rp", "https://op/token").expect("claims");
        assert_eq!(claims["aud"], "https://op/token");
        assert_eq!(
            claims["exp"].as_u64().unwrap_or(0) - claims["iat"].as_u64().unwrap_or(0),
            60
        );
        let jwt = hmac_jwt("secret", "HS512", &claims).expect("jwt");
        let signature = jwt.rsplit('.').next().and_then(b64url_decode).expect("sig");
        assert_eq!(signature.len(), 64);
        assert!(hmac_jwt("secret", "none", &claims).is_none());
    }
}
