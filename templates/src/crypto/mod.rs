//! Field-level authenticated encryption: AES-256-GCM from aws-lc-rs (already
//! the crypto backend of jsonwebtoken and rustls here).
//!
//! - **Keys** come from `DATA_ENCRYPTION_KEYS`, `kid:base64key,…`: exactly 256
//!   bits each; the first one encrypts, the others only decrypt (old keys kept
//!   during a rotation). The decoded bytes are wiped when dropped (`zeroize`);
//!   the expanded key lives inside aws-lc, whose allocator wipes memory on free.
//! - **Each value** gets a fresh random 96-bit nonce (aws-lc draws it), and is
//!   stored as `nonce ‖ ciphertext ‖ tag` beside the id of its key. Random
//!   nonces keep a key safe for about 2³² encryptions (NIST SP 800-38D);
//!   rotate long before that.
//! - **Associated data** binds a value to where it is stored (the caller passes
//!   table, column and row id): a ciphertext copied to another row or column
//!   fails to decrypt, like one that was altered.
//!
//! Nothing here panics on bad input: every failure is a [`CryptoError`].

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

/// AES-256 keys are exactly this long.
pub const KEY_BYTES: usize = 32;
/// The GCM authentication tag.
const TAG_BYTES: usize = 16;
/// Key ids are stored with every value: keep them short.
const MAX_KEY_ID_LEN: usize = 32;

/// Why a value could not be encrypted or decrypted. The messages name no key
/// material and no plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "the value was encrypted with key `{0}`, which is not in DATA_ENCRYPTION_KEYS (add it back, decrypt-only, after the active key)"
    )]
    UnknownKey(String),
    #[error(
        "the value does not decrypt: it was altered, or it was copied from another row or column"
    )]
    Tampered,
    #[error("the stored value is too short to be an encrypted value")]
    Malformed,
    #[error("the value could not be encrypted")]
    Seal,
}

/// An encrypted value as stored: the id of its key and `nonce ‖ ciphertext ‖ tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

/// Progress of one batch of `rotate-keys` (each repository's `rotate_batch`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotated {
    /// Values moved to the active key by this batch.
    pub reencrypted: u64,
    /// Values still under another key after it.
    pub remaining: i64,
}

impl std::ops::AddAssign for Rotated {
    fn add_assign(&mut self, other: Self) {
        self.reencrypted += other.reencrypted;
        self.remaining += other.remaining;
    }
}

struct Key {
    id: String,
    aead: RandomizedNonceKey,
}

/// The data-encryption keys, the active (encrypting) one first. Cheap to clone.
/// `Debug` shows the key ids, never the keys.
#[derive(Clone)]
pub struct Keyring {
    keys: Arc<[Key]>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Parses `kid:base64key,…`. Errors name the entry (by position and key id)
    /// and what is wrong with it, never the key.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut keys: Vec<Key> = Vec::new();
        for (index, entry) in spec.split(',').map(str::trim).enumerate() {
            let position = index + 1;
            let Some((id, encoded)) = entry.split_once(':') else {
                return Err(format!(
                    "entry {position} is not `kid:base64key` (a key id, a colon, a base64 key)"
                ));
            };
            let id = id.trim();
            if id.is_empty()
                || id.len() > MAX_KEY_ID_LEN
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(format!(
                    "entry {position}: a key id is 1 to {MAX_KEY_ID_LEN} letters, digits, `-`, `_` or `.`"
                ));
            }
            if keys.iter().any(|key| key.id == id) {
                return Err(format!("key id `{id}` appears twice"));
            }
            let bytes =
                decode_key(encoded.trim()).map_err(|problem| format!("key `{id}` {problem}"))?;
            let aead = RandomizedNonceKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| format!("key `{id}` is not a usable AES-256 key"))?;
            keys.push(Key {
                id: id.to_owned(),
                aead,
            });
        }
        Ok(Self { keys: keys.into() })
    }

    /// The id of the key new values are encrypted with.
    pub fn active_id(&self) -> &str {
        // `parse` never returns an empty keyring: `split` yields at least one entry.
        &self.keys[0].id
    }

    /// Every key id, the active one first.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.id.as_str())
    }

    /// Encrypts `plaintext` with the active key, bound to `context` (see the
    /// module documentation).
    pub fn seal(&self, plaintext: &str, context: &[u8]) -> Result<Sealed, CryptoError> {
        let key = &self.keys[0];
        let mut in_out = plaintext.as_bytes().to_vec();
        let nonce = key
            .aead
            .seal_in_place_append_tag(Aad::from(context), &mut in_out)
            .map_err(|_| CryptoError::Seal)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + in_out.len());
        bytes.extend_from_slice(nonce.as_ref());
        bytes.extend_from_slice(&in_out);
        Ok(Sealed {
            key_id: key.id.clone(),
            bytes,
        })
    }

    /// Decrypts a value sealed with any key of the ring, for the same `context`.
    pub fn open(&self, key_id: &str, bytes: &[u8], context: &[u8]) -> Result<String, CryptoError> {
        let key = self
            .keys
            .iter()
            .find(|key| key.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        if bytes.len() < NONCE_LEN + TAG_BYTES {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed)?;
        // Opened in place in the one buffer that becomes the value.
        let mut in_out = ciphertext.to_vec();
        let length = key
            .aead
            .open_in_place(nonce, Aad::from(context), &mut in_out)
            .map_err(|_| CryptoError::Tampered)?
            .len();
        in_out.truncate(length);
        // Only this module seals, always from a `&str`: anything else was forged,
        // which the tag check has already ruled out.
        String::from_utf8(in_out).map_err(|_| CryptoError::Tampered)
    }
}

/// The 32 bytes of a base64 key (standard or URL-safe alphabet, padded or
/// not), in memory that is wiped when dropped.
fn decode_key(encoded: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .map(Zeroizing::new)
        .ok_or_else(|| "is not base64 (make one with `openssl rand -base64 32`)".to_owned())?;
    if bytes.len() != KEY_BYTES {
        return Err(format!(
            "is {} bits; keys are exactly 256 bits (32 bytes)",
            bytes.len() * 8
        ));
    }
    // All zeros, or any single repeated byte: a placeholder, not a key.
    if bytes.windows(2).all(|pair| pair[0] == pair[1]) {
        return Err("is a placeholder (every byte is the same), not a random key".to_owned());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const NEW: &str = "new:HxwdHhobGBkWFxQVEhMQEQ4PDA0KCwgJBgcEBQIDAAE=";

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(spec).unwrap()
    }

    #[test]
    fn a_value_round_trips_and_each_encryption_uses_a_fresh_nonce() {
        let keys = ring(NEW);
        let a = keys.seal("sensitive", b"row-1").unwrap();
        let b = keys.seal("sensitive", b"row-1").unwrap();
        assert_eq!(a.key_id, "new");
        assert_ne!(a.bytes, b.bytes, "the same plaintext encrypts differently");
        assert_eq!(keys.open("new", &a.bytes, b"row-1").unwrap(), "sensitive");
        assert!(!String::from_utf8_lossy(&a.bytes).contains("sensitive"));
    }

    #[test]
    fn a_tampered_value_fails_cleanly() {
        let keys = ring(NEW);
        let mut sealed = keys.seal("sensitive", b"row-1").unwrap();
        for index in [0, NONCE_LEN, sealed.bytes.len() - 1] {
            let mut bytes = sealed.bytes.clone();
            bytes[index] ^= 1;
            assert_eq!(
                keys.open("new", &bytes, b"row-1"),
                Err(CryptoError::Tampered)
            );
        }
        sealed.bytes.truncate(NONCE_LEN + TAG_BYTES - 1);
        assert_eq!(
            keys.open("new", &sealed.bytes, b"row-1"),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn a_value_copied_to_another_row_does_not_decrypt() {
        let keys = ring(NEW);
        let sealed = keys.seal("sensitive", b"row-1").unwrap();
        assert_eq!(
            keys.open("new", &sealed.bytes, b"row-2"),
            Err(CryptoError::Tampered)
        );
    }

    #[test]
    fn an_unknown_key_id_is_named() {
        let sealed = ring(OLD).seal("sensitive", b"row-1").unwrap();
        let error = ring(NEW).open("old", &sealed.bytes, b"row-1").unwrap_err();
        assert_eq!(error, CryptoError::UnknownKey("old".to_owned()));
        assert!(error.to_string().contains("key `old`"), "{error}");
    }

    #[test]
    fn old_keys_decrypt_and_only_the_first_encrypts() {
        let sealed = ring(OLD).seal("sensitive", b"row-1").unwrap();
        let rotated = ring(&format!("{NEW},{OLD}"));
        assert_eq!(rotated.active_id(), "new");
        assert_eq!(
            rotated.open("old", &sealed.bytes, b"row-1").unwrap(),
            "sensitive"
        );
        assert_eq!(rotated.seal("x", b"row-1").unwrap().key_id, "new");
    }

    #[test]
    fn bad_key_lists_are_refused_without_showing_the_key() {
        let cases = [
            ("v1", "not `kid:base64key`"),
            (
                ":AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                "a key id is",
            ),
            ("v1:c2hvcnQta2V5LTEyOC1iaXQ=", "is 136 bits"),
            (
                "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "placeholder",
            ),
            ("v1:changeme!", "not base64"),
            (&format!("{OLD},{OLD}"), "appears twice"),
            ("", "not `kid:base64key`"),
        ];
        for (spec, expected) in cases {
            let error = Keyring::parse(spec).unwrap_err();
            assert!(error.contains(expected), "{spec}: {error}");
            assert!(
                !error.contains("c2hvcnQ") && !error.contains("AAECAw"),
                "{error}"
            );
        }
    }

    #[test]
    fn debug_output_shows_key_ids_only() {
        let debug = format!("{:?}", ring(&format!("{NEW},{OLD}")));
        assert!(
            debug.contains("\"new\"") && debug.contains("\"old\""),
            "{debug}"
        );
        assert!(
            !debug.contains("AAECAw") && !debug.contains("HxwdHh"),
            "{debug}"
        );
    }
}
