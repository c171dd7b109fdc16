//! Identity verification: a site vouches for its logged-in user by signing the user id and
//! attributes with the site's identity secret (HMAC-SHA256, hex). A verified user is the same
//! visitor on every device: their visitor id is derived from the site and user id.

use std::collections::BTreeMap;

use bellhop_protocol::api::VisitorIdentity;
use bellhop_protocol::{SiteId, VisitorId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the identity signature does not match")]
    BadSignature,
    #[error("the user id must be 1 to 255 characters")]
    BadUserId,
    #[error("at most 50 attributes of at most 4 KiB in all")]
    TooManyAttributes,
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// What a site's server sends along: the hex signature of the identity.
pub fn sign(
    secret: &str,
    user_id: &str,
    attributes: &BTreeMap<String, serde_json::Value>,
) -> String {
    let mut mac = mac(secret.as_bytes());
    mac.update(VisitorIdentity::signed_payload(user_id, attributes).as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks the signature (in constant time) and the identity's size limits.
pub fn verify(secret: &str, identity: &VisitorIdentity) -> Result<(), IdentityError> {
    if identity.user_id.is_empty() || identity.user_id.chars().count() > 255 {
        return Err(IdentityError::BadUserId);
    }
    let attributes = serde_json::to_string(&identity.attributes).unwrap_or_default();
    if identity.attributes.len() > 50 || attributes.len() > 4096 {
        return Err(IdentityError::TooManyAttributes);
    }
    let signature = decode_hex(&identity.signature).ok_or(IdentityError::BadSignature)?;
    let mut mac = mac(secret.as_bytes());
    mac.update(VisitorIdentity::signed_payload(&identity.user_id, &identity.attributes).as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| IdentityError::BadSignature)
}

/// The visitor a verified user is, on this site: stable across devices, unguessable without
/// the server's key.
pub fn visitor_for(server_key: &[u8], site: SiteId, user_id: &str) -> VisitorId {
    let mut mac = mac(server_key);
    mac.update(format!("visitor\n{site}\n{user_id}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    VisitorId::from_uuid(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(user: &str, vip: bool) -> VisitorIdentity {
        let mut attributes = BTreeMap::new();
        attributes.insert("vip".to_owned(), serde_json::Value::Bool(vip));
        attributes.insert("plan".to_owned(), serde_json::Value::from("gold"));
        VisitorIdentity {
            user_id: user.into(),
            attributes,
            signature: String::new(),
        }
    }

    #[test]
    fn a_signed_identity_verifies_and_a_changed_one_does_not() {
        let mut id = identity("user-42", true);
        id.signature = sign("site-secret", "user-42", &id.attributes);
        assert_eq!(verify("site-secret", &id), Ok(()));
        assert_eq!(
            verify("other-secret", &id),
            Err(IdentityError::BadSignature)
        );
        // Claiming VIP, or another user, under the same signature fails.
        let mut forged = identity("user-42", false);
        forged.signature = id.signature.clone();
        forged
            .attributes
            .insert("vip".into(), serde_json::Value::Bool(true));
        forged.attributes.insert("extra".into(), 1.into());
        assert_eq!(
            verify("site-secret", &forged),
            Err(IdentityError::BadSignature)
        );
        let mut other_user = id.clone();
        other_user.user_id = "user-43".into();
        assert_eq!(
            verify("site-secret", &other_user),
            Err(IdentityError::BadSignature)
        );
        let mut garbage = id;
        garbage.signature = "zz".into();
        assert_eq!(
            verify("site-secret", &garbage),
            Err(IdentityError::BadSignature)
        );
    }

    #[test]
    fn the_same_user_is_the_same_visitor_per_site() {
        let site = SiteId::from_uuid(uuid::Uuid::nil());
        let other = SiteId::from_uuid(uuid::Uuid::from_u128(1));
        assert_eq!(visitor_for(b"k", site, "u1"), visitor_for(b"k", site, "u1"));
        assert_ne!(visitor_for(b"k", site, "u1"), visitor_for(b"k", site, "u2"));
        assert_ne!(
            visitor_for(b"k", site, "u1"),
            visitor_for(b"k", other, "u1")
        );
        assert_ne!(
            visitor_for(b"k", site, "u1"),
            visitor_for(b"k2", site, "u1")
        );
    }
}
