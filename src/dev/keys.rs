//! The provider's signing key: RSA 2048, made by aws-lc-rs when the
//! provider starts and never written anywhere. Tokens are signed with
//! jsonwebtoken on its aws-lc-rs backend, the stack the generated service
//! verifies with. A restart means a new key (and a new `kid`): tokens of the
//! previous run are refused, and the service picks the new key up on its own
//! (it reads the JWKS again when a token names an unknown `kid`).

use anyhow::Context as _;
use aws_lc_rs::encoding::{AsDer as _, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

/// The one algorithm the provider signs with, as Keycloak and Authentik do
/// by default.
pub const ALGORITHM: Algorithm = Algorithm::RS256;

pub struct SigningKey {
    /// The RFC 7638 thumbprint of the public key: new with every key.
    pub kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

impl SigningKey {
    /// A fresh key pair.
    pub fn generate() -> anyhow::Result<Self> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("aws-lc-rs could not generate an RSA key"))?;
        let pkcs8: Pkcs8V1Der<'static> = pair
            .as_der()
            .map_err(|_| anyhow::anyhow!("aws-lc-rs could not export the RSA key"))?;
        // jsonwebtoken signs with the PKCS #1 RSAPrivateKey that PKCS #8 wraps.
        let info = pkcs8::PrivateKeyInfo::try_from(pkcs8.as_ref())
            .map_err(|e| anyhow::anyhow!("cannot read the PKCS #8 key aws-lc-rs exported: {e}"))?;
        let encoding = EncodingKey::from_rsa_der(info.private_key);
        let mut jwk = Jwk::from_encoding_key(&encoding, ALGORITHM).context("the public JWK")?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .context("the key's thumbprint")?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).context("a decoding key from the JWK")?;
        let jwk = serde_json::to_value(&jwk).context("serialize the JWK")?;
        Ok(Self {
            kid,
            encoding,
            decoding,
            jwk,
        })
    }

    /// The public key as the JWKS serves it.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs `claims` with a header of type `typ` naming this key.
    pub fn sign(&self, typ: &str, claims: &Map<String, Value>) -> anyhow::Result<String> {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).context("sign a token")
    }

    /// The claims of a token this key signed, for `issuer`, whatever its
    /// audience and even expired: what an `id_token_hint` needs (OpenID
    /// Connect RP-Initiated Logout §2 accepts expired ones).
    pub fn verify_hint(&self, token: &str, issuer: &str) -> Option<Map<String, Value>> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != ALGORITHM || header.kid.as_deref() != Some(self.kid.as_str()) {
            return None;
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["iss", "sub"]);
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_signed_token_verifies_with_the_published_jwk_and_no_other() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        assert_ne!(key.kid, other.kid);
        assert_eq!(key.jwk()["kid"], key.kid.as_str());
        assert_eq!(key.jwk()["alg"], "RS256");
        assert_eq!(key.jwk()["use"], "sig");

        let claims = json!({ "iss": "http://localhost:1/x", "sub": "a", "exp": 1 });
        let token = key.sign("JWT", claims.as_object().unwrap()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));

        // What a resource server does: the key from the JWKS, RS256 only.
        let jwk: Jwk = serde_json::from_value(key.jwk().clone()).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &DecodingKey::from_jwk(&jwk).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["sub"], "a");

        assert!(key.verify_hint(&token, "http://localhost:1/x").is_some());
        assert!(key.verify_hint(&token, "http://localhost:2/x").is_none());
        assert!(other.verify_hint(&token, "http://localhost:1/x").is_none());
    }
}
