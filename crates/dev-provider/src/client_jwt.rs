//! Signed JWTs made by clients: client assertions (RFC 7523 §2.2 / OIDC Core §9,
//! `client_secret_jwt` and `private_key_jwt`) and signed request objects (JAR, RFC 9101).
//!
//! Verification uses ring only: HMAC with the client secret's UTF-8 bytes for `HS*`, and the
//! client's registered public JWKs (RSA or EC P-256) for `RS*`, `PS*` and `ES256`.
//! `alg: none` and `crit` headers are always refused.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

use crate::config::ClientRegistration;

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The `typ` of a request object (RFC 9101 §4).
pub(crate) const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// HMAC algorithms accepted for `client_secret_jwt`.
pub(crate) const HMAC_ALGS: [&str; 3] = ["HS256", "HS384", "HS512"];

/// Asymmetric algorithms accepted for `private_key_jwt` and request objects.
pub(crate) const ASYMMETRIC_ALGS: [&str; 7] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
];

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub(crate) const CLOCK_SKEW_SECS: u64 = 30;

/// At most this many assertion `jti`s are remembered (expired ones are dropped first).
pub(crate) const MAX_REMEMBERED_JTIS: usize = 10_000;

/// A compact JWS, split and decoded but not verified.
#[derive(Debug)]
pub(crate) struct Jws {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jws {
    /// Splits and decodes a compact JWS whose header and payload are JSON objects.
    pub(crate) fn parse(token: &str) -> Result<Self, String> {
        let mut parts = token.trim().split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a compact JWS (three base64url parts separated by dots)".into());
        };
        let decode = |part: &str, what: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| format!("the {what} is not base64url (without padding)"))
        };
        let header: Map<String, Value> = serde_json::from_slice(&decode(h, "header")?)
            .map_err(|_| "the header is not a JSON object".to_string())?;
        let claims: Map<String, Value> = serde_json::from_slice(&decode(p, "payload")?)
            .map_err(|_| "the payload is not a JSON object".to_string())?;
        let signature = decode(s, "signature")?;
        let jws = Jws {
            header,
            claims,
            signing_input: format!("{h}.{p}"),
            signature,
        };
        if jws.alg().is_empty() {
            return Err("the header has no alg".into());
        }
        if jws.header.contains_key("crit") {
            return Err("the header has crit extensions, which are not supported".into());
        }
        Ok(jws)
    }

    /// The header's `alg` (empty when absent, which [`Jws::parse`] refuses).
    pub(crate) fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// The unverified claims.
    pub(crate) fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// A string claim.
    pub(crate) fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

#[derive(Debug, Clone)]
enum KeyMaterial {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// The uncompressed P-256 point `0x04 || x || y`.
    EcP256(Vec<u8>),
}

/// One public key of a client, from its registered JWKs.
#[derive(Debug, Clone)]
pub(crate) struct PublicKey {
    kid: Option<String>,
    alg: Option<String>,
    material: KeyMaterial,
}

impl PublicKey {
    fn fits(&self, alg: &str) -> bool {
        let kind_fits = match self.material {
            KeyMaterial::Rsa { .. } => alg.starts_with("RS") || alg.starts_with("PS"),
            KeyMaterial::EcP256(_) => alg == "ES256",
        };
        kind_fits && self.alg.as_deref().is_none_or(|a| a == alg)
    }

    fn verify(&self, alg: &str, msg: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            KeyMaterial::Rsa { n, e } => {
                let params: &signature::RsaParameters = match alg {
                    "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                    "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                    "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                    "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
                    "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
                    "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return false,
                };
                RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .verify(params, msg, sig)
                .is_ok()
            }
            KeyMaterial::EcP256(point) => {
                alg == "ES256"
                    && UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(msg, sig)
                        .is_ok()
            }
        }
    }
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes.drain(..start);
    bytes
}

fn parse_jwk(jwk: &Value) -> Result<Option<PublicKey>, String> {
    let jwk = jwk
        .as_object()
        .ok_or_else(|| "every JWK must be a JSON object".to_string())?;
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kid = text("kid").map(str::to_owned);
    let label = kid
        .as_deref()
        .map_or_else(String::new, |k| format!(" {k:?}"));
    if text("use").is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if jwk.contains_key("d") {
        return Err(format!(
            "JWK{label} contains a private key (`d`): register the public half only"
        ));
    }
    let field = |name: &str| -> Result<Vec<u8>, String> {
        text(name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or_else(|| format!("JWK{label} lacks a base64url `{name}`"))
    };
    let material = match text("kty") {
        Some("RSA") => {
            let n = strip_leading_zeros(field("n")?);
            let e = strip_leading_zeros(field("e")?);
            if n.len() * 8 < 2048 {
                return Err(format!("RSA JWK{label} has fewer than 2048 bits"));
            }
            KeyMaterial::Rsa { n, e }
        }
        Some("EC") => {
            if text("crv") != Some("P-256") {
                return Err(format!("EC JWK{label} must be on P-256 (ES256)"));
            }
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(format!("EC JWK{label}: x and y must be 32 bytes each"));
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            KeyMaterial::EcP256(point)
        }
        // Other key types (oct, OKP, ...) cannot verify what this provider accepts.
        _ => return Ok(None),
    };
    let alg = text("alg").map(str::to_owned);
    if let Some(alg) = &alg {
        if !ASYMMETRIC_ALGS.contains(&alg.as_str()) {
            return Err(format!(
                "JWK{label} has alg {alg:?}; supported: {}",
                ASYMMETRIC_ALGS.join(", ")
            ));
        }
    }
    let key = PublicKey { kid, alg, material };
    if let Some(alg) = &key.alg {
        if !key.fits(alg) {
            return Err(format!("JWK{label}: alg {alg:?} does not fit its kty"));
        }
    }
    Ok(Some(key))
}

/// The usable signature keys of a registration's `jwks`: a JWK Set (`{"keys": [...]}`), one
/// JWK, or an array of JWKs. Encryption keys and unknown key types are skipped; malformed
/// RSA / EC keys and a set without any usable key are errors.
pub(crate) fn parse_jwks(jwks: &Value) -> Result<Vec<PublicKey>, String> {
    let list: Vec<&Value> = match jwks {
        Value::Array(items) => items.iter().collect(),
        Value::Object(obj) => match obj.get("keys") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(_) => return Err("the JWK Set's `keys` must be an array".into()),
            None => vec![jwks],
        },
        _ => return Err("jwks must be a JWK Set, a JWK or an array of JWKs".into()),
    };
    let mut keys = Vec::new();
    for jwk in list {
        if let Some(key) = parse_jwk(jwk)? {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err(
            "jwks has no usable signature key (RSA of 2048 bits or more, or EC P-256)".into(),
        );
    }
    Ok(keys)
}

/// Verifies `jws` (an asymmetric `alg`) with the client's registered key: the one whose `kid`
/// matches, or the only key fitting the algorithm when the JWS has no `kid`.
fn verify_with_keys(client: &ClientRegistration, jws: &Jws) -> Result<(), String> {
    let jwks = client
        .jwks
        .as_ref()
        .ok_or_else(|| "the client has no registered keys (jwks)".to_string())?;
    let keys = parse_jwks(jwks)?;
    let alg = jws.alg();
    let key = match jws.kid() {
        Some(kid) => {
            let key = keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| format!("no registered key has kid {kid:?}"))?;
            if !key.fits(alg) {
                return Err(format!("the key {kid:?} cannot verify {alg}"));
            }
            key
        }
        None => {
            let mut fitting = keys.iter().filter(|k| k.fits(alg));
            match (fitting.next(), fitting.next()) {
                (Some(key), None) => key,
                (None, _) => return Err(format!("no registered key can verify {alg}")),
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "the header has no kid and several registered keys fit {alg}"
                    ))
                }
            }
        }
    };
    if key.verify(alg, jws.signing_input.as_bytes(), &jws.signature) {
        Ok(())
    } else {
        Err("the signature does not verify".into())
    }
}

fn verify_hmac(secret: &str, jws: &Jws) -> Result<(), String> {
    let algorithm = match jws.alg() {
        "HS256" => ring::hmac::HMAC_SHA256,
        "HS384" => ring::hmac::HMAC_SHA384,
        "HS512" => ring::hmac::HMAC_SHA512,
        other => return Err(format!("{other} is not an HMAC algorithm")),
    };
    let key = ring::hmac::Key::new(algorithm, secret.as_bytes());
    ring::hmac::verify(&key, jws.signing_input.as_bytes(), &jws.signature)
        .map_err(|_| "the signature does not verify (wrong client secret?)".to_string())
}

/// A NumericDate claim, as whole seconds (fractions are truncated; negative is refused).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| format!("`{name}` must be a non-negative number of seconds")),
        Some(_) => Err(format!("`{name}` must be a number (seconds since 1970)")),
    }
}

/// Checks `exp` (required, not past), `nbf` and `iat` (not in the future). Returns `exp`.
fn check_times(claims: &Map<String, Value>, now: u64) -> Result<u64, String> {
    let exp = numeric_date(claims, "exp")?.ok_or_else(|| "`exp` is missing".to_string())?;
    if exp.saturating_add(CLOCK_SKEW_SECS) < now {
        return Err(format!("expired {}s ago", now - exp));
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if nbf > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err("`nbf` is in the future".into());
        }
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if iat > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err("`iat` is in the future".into());
        }
    }
    Ok(exp)
}

/// Whether `aud` (a string or an array of strings) names one of `accepted`.
fn audience_ok(claims: &Map<String, Value>, accepted: &[&str]) -> bool {
    let named = |v: &Value| v.as_str().is_some_and(|a| accepted.contains(&a));
    match claims.get("aud") {
        Some(Value::Array(items)) => items.iter().any(named),
        Some(v) => named(v),
        None => false,
    }
}

/// A verified client assertion: its `jti`, remembered until `exp`.
#[derive(Debug)]
pub(crate) struct VerifiedAssertion {
    pub(crate) jti: String,
    pub(crate) exp: u64,
}

/// Verifies a client assertion of `client` (looked up by the caller, whose registered method
/// matches the assertion's `alg` family): signature, `iss` = `sub` = client id, `aud` one of
/// `audiences`, `exp`, and a `jti` to check for replay.
pub(crate) fn verify_assertion(
    client: &ClientRegistration,
    jws: &Jws,
    audiences: &[&str],
    now: u64,
) -> Result<VerifiedAssertion, String> {
    let alg = jws.alg();
    if HMAC_ALGS.contains(&alg) {
        let secret = client
            .client_secret
            .as_deref()
            .ok_or_else(|| "the client has no secret to verify an HMAC".to_string())?;
        verify_hmac(secret, jws)?;
    } else if ASYMMETRIC_ALGS.contains(&alg) {
        verify_with_keys(client, jws)?;
    } else {
        return Err(format!("alg {alg:?} is not accepted"));
    }
    let id = client.client_id.as_str();
    if jws.claim_str("iss") != Some(id) {
        return Err(format!("`iss` must be the client id {id:?}"));
    }
    if jws.claim_str("sub") != Some(id) {
        return Err(format!("`sub` must be the client id {id:?}"));
    }
    if !audience_ok(jws.claims(), audiences) {
        return Err(format!(
            "`aud` must be the token endpoint URL ({}) or the issuer",
            audiences.first().copied().unwrap_or_default()
        ));
    }
    let exp = check_times(jws.claims(), now)?;
    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty())
        .ok_or_else(|| "`jti` is missing".to_string())?;
    Ok(VerifiedAssertion {
        jti: jti.to_owned(),
        exp,
    })
}

/// Verifies a request object (RFC 9101 §6.1–6.3) of `client` and returns its claims: an
/// asymmetric signature by a registered key, `typ` (when present) `oauth-authz-req+jwt`,
/// `iss` the client id, `aud` naming `issuer`, `exp` not past.
pub(crate) fn verify_request_object(
    client: &ClientRegistration,
    issuer: &str,
    token: &str,
    now: u64,
) -> Result<Map<String, Value>, String> {
    let jws = Jws::parse(token)?;
    let alg = jws.alg();
    if alg.eq_ignore_ascii_case("none") {
        return Err("unsigned request objects (alg none) are not accepted".into());
    }
    if !ASYMMETRIC_ALGS.contains(&alg) {
        return Err(format!(
            "alg {alg:?} is not accepted for request objects; use one of {}",
            ASYMMETRIC_ALGS.join(", ")
        ));
    }
    if let Some(typ) = jws.typ() {
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case(REQUEST_OBJECT_TYP) {
            return Err(format!("typ {typ:?} is not {REQUEST_OBJECT_TYP}"));
        }
    }
    verify_with_keys(client, &jws)?;
    let id = client.client_id.as_str();
    if jws.claim_str("iss") != Some(id) {
        return Err(format!("`iss` must be the client id {id:?}"));
    }
    if !audience_ok(jws.claims(), &[issuer]) {
        return Err(format!("`aud` must name the issuer {issuer:?}"));
    }
    check_times(jws.claims(), now)?;
    Ok(jws.claims)
}

/// The client assertion `jti`s already used, each until its `exp` (plus the clock skew).
#[derive(Debug, Default)]
pub(crate) struct JtiCache {
    seen: HashMap<(String, String), u64>,
}

impl JtiCache {
    /// Records `jti` of `client_id`, valid until `exp`. False when it was already used (a
    /// replay). At most [`MAX_REMEMBERED_JTIS`] are kept: expired ones are dropped first, then
    /// the ones that expire soonest.
    pub(crate) fn record(&mut self, client_id: &str, jti: &str, exp: u64, now: u64) -> bool {
        let key = (client_id.to_owned(), jti.to_owned());
        if self
            .seen
            .get(&key)
            .is_some_and(|until| until.saturating_add(CLOCK_SKEW_SECS) >= now)
        {
            return false;
        }
        if self.seen.len() >= MAX_REMEMBERED_JTIS {
            self.seen
                .retain(|_, until| until.saturating_add(CLOCK_SKEW_SECS) >= now);
        }
        while self.seen.len() >= MAX_REMEMBERED_JTIS {
            let soonest = self
                .seen
                .iter()
                .min_by_key(|(_, until)| **until)
                .map(|(k, _)| k.clone());
            match soonest {
                Some(k) => {
                    self.seen.remove(&k);
                }
                None => break,
            }
        }
        self.seen.insert(key, exp);
        true
    }

    /// How many `jti`s are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair as _, RsaKeyPair};
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn ec_key() -> (EcdsaKeyPair, Value) {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("generate");
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("pair");
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec-1",
            "x": b64(&point[1..33]), "y": b64(&point[33..65])});
        (pair, jwk)
    }

    fn es256(pair: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", b64(sig.as_ref()))
    }

    fn client(jwks: Value) -> ClientRegistration {
        ClientRegistration::private_key_jwt("rp", jwks, "http://127.0.0.1:1/cb")
    }

    #[test]
    fn jwks_shapes_and_bad_keys() {
        let (_, jwk) = ec_key();
        assert_eq!(parse_jwks(&jwk).expect("one jwk").len(), 1);
        assert_eq!(parse_jwks(&json!([jwk.clone()])).expect("array").len(), 1);
        assert_eq!(
            parse_jwks(&json!({"keys": [jwk.clone(), {"kty": "oct", "k": "AA"}]}))
                .expect("set")
                .len(),
            1
        );
        assert!(parse_jwks(&json!({"keys": []})).is_err());
        assert!(parse_jwks(&json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"})).is_err());
        assert!(parse_jwks(&json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})).is_err());
        let mut private = jwk;
        private["d"] = "AAAA".into();
        assert!(parse_jwks(&private)
            .expect_err("private")
            .contains("private key"));
        assert!(parse_jwks(&json!("text")).is_err());
    }

    #[test]
    fn embedded_rsa_key_verifies_pkcs1_and_pss() {
        let pair = RsaKeyPair::from_pkcs8(include_bytes!("../keys/rsa-2.pk8.der")).expect("rsa");
        let public: RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
        let jwk = json!({"kty": "RSA", "n": b64(&public.n), "e": b64(&public.e)});
        let c = client(jwk);
        for (alg, padding) in [
            (
                "RS256",
                &signature::RSA_PKCS1_SHA256 as &dyn signature::RsaEncoding,
            ),
            ("PS512", &signature::RSA_PSS_SHA512),
        ] {
            let input = format!(
                "{}.{}",
                b64(json!({ "alg": alg }).to_string().as_bytes()),
                b64(b"{}")
            );
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(padding, &SystemRandom::new(), input.as_bytes(), &mut sig)
                .expect("sign");
            let jws = Jws::parse(&format!("{input}.{}", b64(&sig))).expect("parse");
            assert_eq!(verify_with_keys(&c, &jws), Ok(()), "{alg}");
            sig[10] ^= 1;
            let jws = Jws::parse(&format!("{input}.{}", b64(&sig))).expect("parse");
            assert!(verify_with_keys(&c, &jws).is_err(), "{alg} tampered");
        }
    }

    #[test]
    fn assertion_checks_claims_and_times() {
        let (pair, jwk) = ec_key();
        let c = client(jwk);
        let now = 1_700_000_000;
        let header = json!({"alg": "ES256", "kid": "ec-1"});
        let good = json!({"iss": "rp", "sub": "rp", "aud": "https://op/token", "jti": "j1",
            "iat": now, "exp": now + 60});
        let check = |claims: &Value| {
            let jws = Jws::parse(&es256(&pair, &header, claims)).expect("parse");
            verify_assertion(&c, &jws, &["https://op/token", "https://op"], now)
        };
        let ok = check(&good).expect("valid");
        assert_eq!((ok.jti.as_str(), ok.exp), ("j1", now + 60));
        let mut array_aud = good.clone();
        array_aud["aud"] = json!(["x", "https://op"]);
        assert!(check(&array_aud).is_ok());
        for (name, value) in [
            ("aud", json!("https://elsewhere/token")),
            ("iss", json!("other")),
            ("sub", json!("other")),
            ("exp", json!(now - 3600)),
            ("exp", json!("soon")),
            ("iat", json!(now + 3600)),
            ("jti", json!("")),
        ] {
            let mut bad = good.clone();
            bad[name] = value.clone();
            assert!(check(&bad).is_err(), "{name} = {value}");
        }
        for name in ["exp", "jti", "aud"] {
            let mut bad = good.clone();
            bad.as_object_mut().map(|o| o.remove(name));
            assert!(check(&bad).is_err(), "{name} missing");
        }
        // A kid nobody registered.
        let jws = Jws::parse(&es256(
            &pair,
            &json!({"alg": "ES256", "kid": "other"}),
            &good,
        ))
        .expect("parse");
        assert!(verify_assertion(&c, &jws, &["https://op/token"], now)
            .expect_err("kid")
            .contains("kid"));
    }

    #[test]
    fn malformed_jws_and_crit_are_refused() {
        assert!(Jws::parse("a.b").is_err());
        assert!(Jws::parse("a.b.c.d").is_err());
        assert!(Jws::parse("!!.e30.").is_err());
        let h = b64(br#"{"alg":"HS256","crit":["exp"]}"#);
        assert!(Jws::parse(&format!("{h}.e30.")).is_err());
        let no_alg = b64(br#"{"typ":"JWT"}"#);
        assert!(Jws::parse(&format!("{no_alg}.e30.")).is_err());
    }

    #[test]
    fn jti_cache_refuses_replays_and_stays_bounded() {
        let mut cache = JtiCache::default();
        let now = 1_000_000;
        assert!(cache.record("rp", "a", now + 60, now));
        assert!(!cache.record("rp", "a", now + 60, now), "replay");
        assert!(cache.record("other", "a", now + 60, now), "per client");
        // Once expired (beyond the skew) the jti may be used again.
        assert!(cache.record("rp", "a", now + 60, now + 60 + CLOCK_SKEW_SECS + 1));
        for i in 0..MAX_REMEMBERED_JTIS + 50 {
            cache.record("rp", &format!("j{i}"), now + 1000 + i as u64, now);
        }
        assert_eq!(cache.len(), MAX_REMEMBERED_JTIS);
        // The latest ones are still remembered.
        let last = format!("j{}", MAX_REMEMBERED_JTIS + 49);
        assert!(!cache.record("rp", &last, now + 5000, now));
    }
}
