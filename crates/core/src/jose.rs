//! JWS compact parsing, JWKs and signature checks (RS*, PS*, ES256/ES384) with `ring`.
//!
//! Only asymmetric algorithms are accepted: `none` and the HMAC family never verify.

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

use crate::crypto::b64url_decode;
use crate::error::TokenError;

/// JWS signature algorithms: those accepted for ID and logout tokens, and those the
/// client signs with ([`ClientKey`](crate::ClientKey): all but ES384).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
}

impl Algorithm {
    pub(crate) fn parse(name: &str) -> Result<Self, TokenError> {
        Ok(match name {
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            other => {
                return Err(TokenError::AlgorithmNotAllowed(
                    other
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(16)
                        .collect(),
                ))
            }
        })
    }

    fn key_type(self) -> &'static str {
        match self {
            Self::ES256 | Self::ES384 => "EC",
            _ => "RSA",
        }
    }

    /// The digest `at_hash` uses for this algorithm.
    pub(crate) fn hash(self) -> &'static ring::digest::Algorithm {
        match self {
            Self::RS256 | Self::PS256 | Self::ES256 => &ring::digest::SHA256,
            Self::RS384 | Self::PS384 | Self::ES384 => &ring::digest::SHA384,
            Self::RS512 | Self::PS512 => &ring::digest::SHA512,
        }
    }

    /// The JWS `alg` name, such as `RS256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
        }
    }
}

/// Every algorithm a provider's signature is verified with.
pub(crate) const VERIFIED_ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    jwk: Option<serde_json::Value>,
}

/// A parsed, not yet verified, compact JWS.
pub(crate) struct UnverifiedJws<'a> {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub typ: Option<String>,
    /// The `jwk` header: the signer's own public key (DPoP proofs carry one).
    pub jwk: Option<serde_json::Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
    pub payload: Vec<u8>,
}

/// Largest token accepted; a real ID token is a few KiB.
const MAX_TOKEN_LEN: usize = 64 * 1024;

impl<'a> UnverifiedJws<'a> {
    pub(crate) fn parse(token: &'a str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("too long"));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("not three dot-separated parts"));
        };
        let header_bytes =
            b64url_decode(header).ok_or(TokenError::Malformed("header is not base64url"))?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&header_bytes)
                .map_err(|_| TokenError::Malformed("header is not a JSON object"))?;
        // RFC 7515 §4.1.11: we understand no extension, so any `crit` (even `null`) refuses.
        if header.contains_key("crit") {
            return Err(TokenError::Malformed(
                "`crit` header parameters are not supported",
            ));
        }
        let raw: RawHeader = serde_json::from_value(serde_json::Value::Object(header))
            .map_err(|_| TokenError::Malformed("header fields have the wrong types"))?;
        let alg = Algorithm::parse(&raw.alg)?;
        let payload =
            b64url_decode(payload).ok_or(TokenError::Malformed("payload is not base64url"))?;
        let signature =
            b64url_decode(signature).ok_or(TokenError::Malformed("signature is not base64url"))?;
        if signature.is_empty() {
            return Err(TokenError::BadSignature);
        }
        let signing_input = token.rsplit_once('.').map_or("", |(input, _)| input);
        Ok(Self {
            alg,
            kid: raw.kid,
            typ: raw.typ,
            jwk: raw.jwk,
            signing_input,
            signature,
            payload,
        })
    }

    pub(crate) fn verify_with(&self, key: &PublicKey) -> bool {
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
    }
}

/// A JWK as found in a JWKS document; unknown members are ignored.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Clone, Debug)]
enum KeyMaterial {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256(Vec<u8>),
    P384(Vec<u8>),
}

/// A provider signing key.
#[derive(Clone, Debug)]
pub(crate) struct PublicKey {
    pub kid: Option<String>,
    alg: Option<String>,
    material: KeyMaterial,
}

/// JWK members that only a private or symmetric key has.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

impl PublicKey {
    /// A key a JWS carries in its own `jwk` header (RFC 9449 §4.2): public members only.
    pub(crate) fn from_embedded(jwk: &serde_json::Value) -> Option<Self> {
        let object = jwk.as_object()?;
        if PRIVATE_MEMBERS
            .iter()
            .any(|name| object.contains_key(*name))
        {
            return None;
        }
        Self::from_raw(serde_json::from_value(jwk.clone()).ok()?)
    }

    /// RFC 7638 thumbprint: base64url SHA-256 of the required members, sorted, no spaces.
    pub(crate) fn thumbprint(&self) -> String {
        use crate::crypto::b64url_encode;
        let canonical = match &self.material {
            KeyMaterial::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64url_encode(e),
                b64url_encode(n)
            ),
            KeyMaterial::P256(point) | KeyMaterial::P384(point) => {
                let (crv, size) = match &self.material {
                    KeyMaterial::P256(_) => ("P-256", 32),
                    _ => ("P-384", 48),
                };
                let x = point.get(1..1 + size).unwrap_or_default();
                let y = point.get(1 + size..).unwrap_or_default();
                format!(
                    r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
                    b64url_encode(x),
                    b64url_encode(y)
                )
            }
        };
        b64url_encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    fn from_raw(raw: RawJwk) -> Option<Self> {
        if raw.use_.as_deref().is_some_and(|u| u != "sig") {
            return None;
        }
        // RFC 7517 §4.3: a key whose operations are listed must allow `verify`.
        if raw
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
        {
            return None;
        }
        let material = match raw.kty.as_str() {
            "RSA" => KeyMaterial::Rsa {
                n: b64url_decode(raw.n.as_deref()?)?,
                e: b64url_decode(raw.e.as_deref()?)?,
            },
            "EC" => {
                let x = b64url_decode(raw.x.as_deref()?)?;
                let y = b64url_decode(raw.y.as_deref()?)?;
                let size = match raw.crv.as_deref()? {
                    "P-256" => 32,
                    "P-384" => 48,
                    _ => return None,
                };
                if x.len() != size || y.len() != size {
                    return None;
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                if size == 32 {
                    KeyMaterial::P256(point)
                } else {
                    KeyMaterial::P384(point)
                }
            }
            _ => return None,
        };
        Some(Self {
            kid: raw.kid,
            alg: raw.alg,
            material,
        })
    }

    /// Whether this key can check a signature made with `alg`.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        let type_fits = match (&self.material, alg) {
            (KeyMaterial::Rsa { .. }, _) => alg.key_type() == "RSA",
            (KeyMaterial::P256(_), Algorithm::ES256) => true,
            (KeyMaterial::P384(_), Algorithm::ES384) => true,
            _ => false,
        };
        type_fits && self.alg.as_deref().is_none_or(|a| a == alg.name())
    }

    fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        if !self.fits(alg) {
            return false;
        }
        match &self.material {
            KeyMaterial::Rsa { n, e } => {
                let params: &signature::RsaParameters = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                    Algorithm::ES256 | Algorithm::ES384 => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, signature)
                    .is_ok()
            }
            KeyMaterial::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            KeyMaterial::P384(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
        }
    }
}

/// Parses a JWKS document. Keys of unknown types or uses are skipped, not fatal.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<Vec<PublicKey>, String> {
    let raw: RawJwks =
        serde_json::from_slice(body).map_err(|e| format!("the JWKS is not valid JSON: {e}"))?;
    Ok(raw
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<RawJwk>(value).ok())
        .filter_map(PublicKey::from_raw)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        crate::crypto::b64url_encode(text.as_bytes())
    }

    /// RFC 7515: no padding, and any `crit` refuses, `null` too.
    #[test]
    fn strict_parsing() {
        let payload = b64("{}");
        let good = format!("{}.{payload}.c2ln", b64(r#"{"alg":"RS256"}"#));
        assert!(UnverifiedJws::parse(&good).is_ok());
        let padded = format!("{}.{payload}.c2lnbg==", b64(r#"{"alg":"RS256"}"#));
        assert!(matches!(
            UnverifiedJws::parse(&padded),
            Err(TokenError::Malformed(_))
        ));
        for crit in [
            r#"{"alg":"RS256","crit":null}"#,
            r#"{"alg":"RS256","crit":["exp"]}"#,
        ] {
            let token = format!("{}.{payload}.c2ln", b64(crit));
            assert!(
                matches!(UnverifiedJws::parse(&token), Err(TokenError::Malformed(_))),
                "{crit}"
            );
        }
    }

    /// RFC 7517 §4.3: a key whose `key_ops` lack `verify` is not a verification key.
    #[test]
    fn key_ops_are_honoured() {
        let rsa = |ops: &str| {
            format!(r#"{{"keys":[{{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"{ops}}}]}}"#)
        };
        assert_eq!(parse_jwks(rsa("").as_bytes()).map(|k| k.len()), Ok(1));
        assert_eq!(
            parse_jwks(rsa(r#","key_ops":["verify"]"#).as_bytes()).map(|k| k.len()),
            Ok(1)
        );
        assert_eq!(
            parse_jwks(rsa(r#","key_ops":["encrypt"]"#).as_bytes()).map(|k| k.len()),
            Ok(0)
        );
    }

    #[test]
    fn refuses_none_and_hmac() {
        // {"alg":"none"} . {} . (empty)
        assert!(matches!(
            UnverifiedJws::parse("eyJhbGciOiJub25lIn0.e30."),
            Err(TokenError::AlgorithmNotAllowed(_))
        ));
        // {"alg":"HS256"}
        assert!(matches!(
            UnverifiedJws::parse("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),
            Err(TokenError::AlgorithmNotAllowed(_))
        ));
        assert!(UnverifiedJws::parse("a.b").is_err());
        assert!(UnverifiedJws::parse("a.b.c.d").is_err());
        assert!(UnverifiedJws::parse("!!.!!.!!").is_err());
    }

    #[test]
    fn jwks_skips_unusable_keys() {
        let body = br#"{"keys":[{"kty":"oct","k":"abc"},{"kty":"EC","crv":"P-521","x":"AA","y":"AA"},
            {"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"},"junk"]}"#;
        let keys = parse_jwks(body).expect("parses");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("k1"));
        assert!(keys[0].fits(Algorithm::RS256));
        assert!(!keys[0].fits(Algorithm::ES256));
        assert!(parse_jwks(b"[]").is_err());
    }

    #[test]
    fn es256_signature_verifies() {
        use ring::rand::SystemRandom;
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("keygen");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("key");
        let point = pair.public_key().as_ref();
        let jwks = format!(
            r#"{{"keys":[{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}]}}"#,
            crate::crypto::b64url_encode(&point[1..33]),
            crate::crypto::b64url_encode(&point[33..65])
        );
        let keys = parse_jwks(jwks.as_bytes()).expect("jwks");
        let header = crate::crypto::b64url_encode(br#"{"alg":"ES256"}"#);
        let payload = crate::crypto::b64url_encode(br#"{"sub":"x"}"#);
        let input = format!("{header}.{payload}");
        let sig = pair.sign(&rng, input.as_bytes()).expect("sign");
        let token = format!("{input}.{}", crate::crypto::b64url_encode(sig.as_ref()));
        let jws = UnverifiedJws::parse(&token).expect("parse");
        assert!(jws.verify_with(&keys[0]));
        let tampered = format!(
            "{header}.{}.{}",
            crate::crypto::b64url_encode(br#"{"sub":"y"}"#),
            crate::crypto::b64url_encode(sig.as_ref())
        );
        let jws = UnverifiedJws::parse(&tampered).expect("parse");
        assert!(!jws.verify_with(&keys[0]));
    }
}
