//! Visitor tokens: `vt1.<payload>.<signature>`, where the payload is base64url JSON naming one
//! visitor of one site and the signature is HMAC-SHA256 over `vt1.<payload>` with the server's
//! secret. A token reaches only that visitor's conversations; it cannot be altered to name
//! another visitor without the secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{SiteId, VisitorId};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "vt1.";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorClaims {
    #[serde(rename = "s")]
    pub site_id: SiteId,
    #[serde(rename = "v")]
    pub visitor_id: VisitorId,
    #[serde(rename = "iat")]
    pub issued_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed visitor token")]
    Malformed,
    #[error("visitor token signature does not match")]
    BadSignature,
}

/// Signs and checks visitor tokens with one secret.
#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
}

impl TokenSigner {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    /// The key, for deriving other values bound to this server (verified visitors' ids).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn sign(&self, claims: &VisitorClaims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signed = format!("{PREFIX}{payload}");
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    pub fn verify(&self, token: &str) -> Result<VisitorClaims, TokenError> {
        if token.len() > 512 || !token.starts_with(PREFIX) {
            return Err(TokenError::Malformed);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(&signed[PREFIX.len()..])
            .map_err(|_| TokenError::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn claims() -> VisitorClaims {
        VisitorClaims {
            site_id: SiteId::from_uuid(Uuid::now_v7()),
            visitor_id: VisitorId::from_uuid(Uuid::now_v7()),
            issued_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let signer = TokenSigner::new(b"secret");
        let claims = claims();
        assert_eq!(signer.verify(&signer.sign(&claims)), Ok(claims));
    }

    #[test]
    fn another_key_or_an_altered_payload_is_refused() {
        let signer = TokenSigner::new(b"secret");
        let token = signer.sign(&claims());
        assert_eq!(
            TokenSigner::new(b"other").verify(&token),
            Err(TokenError::BadSignature)
        );
        // Swap in another visitor's payload under the original signature.
        let other = signer.sign(&claims());
        let (_, signature) = token.rsplit_once('.').unwrap_or_default();
        let (other_signed, _) = other.rsplit_once('.').unwrap_or_default();
        assert_eq!(
            signer.verify(&format!("{other_signed}.{signature}")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(signer.verify("garbage"), Err(TokenError::Malformed));
        assert_eq!(signer.verify("vt1.x.!!"), Err(TokenError::Malformed));
    }
}
