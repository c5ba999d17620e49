//! Signing keys (RS256 from the embedded public test keys, ES256 generated with ring), the JWKS
//! document, JWS signing and verification.
//!
//! The RSA keys under `keys/` are PUBLIC TEST KEYS: anyone can read them in this repository.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{json, Value};

use crate::config::SigningAlg;
use crate::Error;

/// The embedded RSA-2048 PKCS#8 DER keys: PUBLIC TEST KEYS, never trust them anywhere real.
const RSA_TEST_KEYS: [&[u8]; 4] = [
    include_bytes!("../keys/rsa-1.pk8.der"),
    include_bytes!("../keys/rsa-2.pk8.der"),
    include_bytes!("../keys/rsa-3.pk8.der"),
    include_bytes!("../keys/rsa-4.pk8.der"),
];

enum Material {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// One key with its public JWK.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) alg: SigningAlg,
    material: Material,
    jwk: Value,
}

impl SigningKey {
    fn rsa(der: &[u8]) -> Result<Self, Error> {
        let kp = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| Error::Key(format!("embedded RSA test key rejected: {e}")))?;
        let comps: RsaPublicKeyComponents<Vec<u8>> = kp.public().into();
        let n = b64(strip_zeros(&comps.n));
        let e = b64(strip_zeros(&comps.e));
        // RFC 7638 thumbprint: members in lexicographic order, no whitespace.
        let kid = thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        let jwk = json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": e});
        Ok(SigningKey {
            kid,
            alg: SigningAlg::RS256,
            material: Material::Rsa(kp),
            jwk,
        })
    }

    fn generate_ec(rng: &SystemRandom) -> Result<Self, Error> {
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, rng)
            .map_err(|_| Error::Key("could not generate an ES256 key".into()))?;
        let kp = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), rng)
            .map_err(|e| Error::Key(format!("generated ES256 key rejected: {e}")))?;
        let point = kp.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(Error::Key("unexpected P-256 public key encoding".into()));
        }
        let x = b64(&point[1..33]);
        let y = b64(&point[33..65]);
        let kid = thumbprint(&format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
        ));
        let jwk = json!({"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256", "x": x, "y": y});
        Ok(SigningKey {
            kid,
            alg: SigningAlg::ES256,
            material: Material::Ec(kp),
            jwk,
        })
    }

    fn sign(&self, rng: &SystemRandom, msg: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.material {
            Material::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, rng, msg, &mut sig)
                    .map_err(|_| Error::Key("RSA signing failed".into()))?;
                Ok(sig)
            }
            Material::Ec(kp) => kp
                .sign(rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Key("ECDSA signing failed".into())),
        }
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Rsa(kp) => {
                let comps: RsaPublicKeyComponents<Vec<u8>> = kp.public().into();
                comps
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
                    .is_ok()
            }
            Material::Ec(kp) => signature::UnparsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                kp.public_key().as_ref(),
            )
            .verify(msg, sig)
            .is_ok(),
        }
    }
}

/// All keys published in the JWKS, plus which one is current per algorithm.
pub(crate) struct KeyStore {
    keys: Vec<SigningKey>,
    current_rsa: String,
    current_ec: String,
    next_rsa: usize,
}

impl KeyStore {
    /// One RS256 key (the first embedded test key) and one fresh ES256 key.
    pub(crate) fn new(rng: &SystemRandom) -> Result<Self, Error> {
        let rsa = SigningKey::rsa(RSA_TEST_KEYS[0])?;
        let ec = SigningKey::generate_ec(rng)?;
        Ok(KeyStore {
            current_rsa: rsa.kid.clone(),
            current_ec: ec.kid.clone(),
            keys: vec![rsa, ec],
            next_rsa: 1,
        })
    }

    /// The current key for `alg`.
    pub(crate) fn current(&self, alg: SigningAlg) -> Option<&SigningKey> {
        let kid = match alg {
            SigningAlg::RS256 => &self.current_rsa,
            SigningAlg::ES256 => &self.current_ec,
        };
        self.keys.iter().find(|k| &k.kid == kid)
    }

    /// Makes a new key of `alg` current (RS256: the next embedded test key, cycling; ES256: a
    /// freshly generated one). Returns its kid.
    pub(crate) fn rotate(&mut self, alg: SigningAlg, rng: &SystemRandom) -> Result<String, Error> {
        let key = match alg {
            SigningAlg::RS256 => {
                let der = RSA_TEST_KEYS[self.next_rsa % RSA_TEST_KEYS.len()];
                self.next_rsa = (self.next_rsa + 1) % RSA_TEST_KEYS.len();
                SigningKey::rsa(der)?
            }
            SigningAlg::ES256 => SigningKey::generate_ec(rng)?,
        };
        let kid = key.kid.clone();
        // An embedded RSA key can come round again: keep one copy, move it to the end.
        self.keys.retain(|k| k.kid != kid);
        self.keys.push(key);
        match alg {
            SigningAlg::RS256 => self.current_rsa = kid.clone(),
            SigningAlg::ES256 => self.current_ec = kid.clone(),
        }
        Ok(kid)
    }

    /// Drops every key that is not current for some algorithm.
    pub(crate) fn retire_old(&mut self) {
        let (rsa, ec) = (self.current_rsa.clone(), self.current_ec.clone());
        self.keys.retain(|k| k.kid == rsa || k.kid == ec);
    }

    /// The JWKS document.
    pub(crate) fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.keys.iter().map(|k| k.jwk.clone()).collect();
        json!({ "keys": keys })
    }

    /// All kids in JWKS order.
    pub(crate) fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// Verifies a compact JWS made by one of our keys (any key still in the JWKS) and returns
    /// its claims. Expiry is NOT checked.
    pub(crate) fn verify_jwt(&self, token: &str) -> Option<Value> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        let alg = header.get("alg")?.as_str()?;
        let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
        let msg = format!("{h}.{p}");
        let kid = header.get("kid").and_then(Value::as_str);
        let ok = self
            .keys
            .iter()
            .filter(|k| k.alg.as_str() == alg)
            .filter(|k| kid.is_none_or(|kid| kid == k.kid))
            .any(|k| k.verify(msg.as_bytes(), &sig));
        if !ok {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
    }
}

/// How to produce the signature part of a JWT (the normal case and the misbehaviours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignMode {
    /// Signed, with `kid`.
    Normal,
    /// Signed, without `kid` in the header.
    NoKid,
    /// `alg: none`, empty signature.
    AlgNone,
    /// Signed with `kid`, then the signature bytes are flipped.
    CorruptSignature,
    /// Signed with `kid`, and `crit` names an extension header parameter.
    CritHeader,
    /// Signed with `kid`, the parts base64url with `=` padding (where a length calls for it).
    PaddedBase64,
}

/// Builds a compact JWS with header `{alg, typ?, kid}`.
pub(crate) fn sign_jwt(
    keys: &KeyStore,
    rng: &SystemRandom,
    alg: SigningAlg,
    typ: Option<&str>,
    claims: &Value,
    mode: SignMode,
) -> Result<String, Error> {
    let key = keys
        .current(alg)
        .ok_or_else(|| Error::Key(format!("no current {alg} key")))?;
    let mut header = serde_json::Map::new();
    header.insert(
        "alg".into(),
        if mode == SignMode::AlgNone {
            "none".into()
        } else {
            alg.as_str().into()
        },
    );
    if let Some(typ) = typ {
        header.insert("typ".into(), typ.into());
    }
    if mode != SignMode::NoKid && mode != SignMode::AlgNone {
        header.insert("kid".into(), key.kid.clone().into());
    }
    if mode == SignMode::CritHeader {
        header.insert("crit".into(), json!(["urn:example:must-understand"]));
        header.insert("urn:example:must-understand".into(), true.into());
    }
    // A header whose JSON is a multiple of 3 bytes would get no padding: one member more
    // makes it 2 bytes longer modulo 3, so the header (the first part a client reads) is
    // always padded.
    if mode == SignMode::PaddedBase64
        && Value::Object(header.clone())
            .to_string()
            .len()
            .is_multiple_of(3)
    {
        header.insert("x-pad".into(), "".into());
    }
    let part = |bytes: &[u8]| match mode {
        SignMode::PaddedBase64 => base64::engine::general_purpose::URL_SAFE.encode(bytes),
        _ => b64(bytes),
    };
    let h = part(Value::Object(header).to_string().as_bytes());
    let p = part(claims.to_string().as_bytes());
    let input = format!("{h}.{p}");
    if mode == SignMode::AlgNone {
        return Ok(format!("{input}."));
    }
    let mut sig = key.sign(rng, input.as_bytes())?;
    if mode == SignMode::CorruptSignature {
        for b in sig.iter_mut().take(8) {
            *b ^= 0x5a;
        }
    }
    Ok(format!("{input}.{}", part(&sig)))
}

/// `at_hash` for SHA-256 based algorithms: left half of SHA-256, base64url.
pub(crate) fn at_hash(access_token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    b64(&d.as_ref()[..16])
}

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn thumbprint(canonical: &str) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|&x| x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    &b[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_embedded_keys_load_and_sign() {
        let rng = SystemRandom::new();
        for der in RSA_TEST_KEYS {
            let k = SigningKey::rsa(der).unwrap();
            let sig = k.sign(&rng, b"hello").unwrap();
            assert!(k.verify(b"hello", &sig));
            assert!(!k.verify(b"hellO", &sig));
        }
    }

    #[test]
    fn rotation_and_verification() {
        let rng = SystemRandom::new();
        let mut ks = KeyStore::new(&rng).unwrap();
        let claims = json!({"a": 1});
        let t = sign_jwt(
            &ks,
            &rng,
            SigningAlg::ES256,
            None,
            &claims,
            SignMode::Normal,
        )
        .unwrap();
        assert_eq!(ks.verify_jwt(&t).unwrap(), claims);
        let bad = sign_jwt(
            &ks,
            &rng,
            SigningAlg::RS256,
            None,
            &claims,
            SignMode::CorruptSignature,
        )
        .unwrap();
        assert!(ks.verify_jwt(&bad).is_none());
        for _ in 0..6 {
            ks.rotate(SigningAlg::RS256, &rng).unwrap();
        }
        assert_eq!(ks.kids().len(), 5, "4 distinct RSA keys + 1 EC key");
        ks.retire_old();
        assert_eq!(ks.kids().len(), 2);
        assert!(ks.verify_jwt(&t).is_some());
    }
}
