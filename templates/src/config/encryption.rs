//! The data-encryption keys (feature `encryption`): the keys the sensitive
//! columns are sealed with (see `crypto`). Required in every environment.
//!
//! | variable               | meaning                                                    | default  |
//! | ---------------------- | ---------------------------------------------------------- | -------- |
//! | `DATA_ENCRYPTION_KEYS` | `kid:base64key,…`, 256-bit keys, the first active (secret) | required |

use super::{ConfigError, Vars};
use crate::crypto::Keyring;

const VAR: &str = "DATA_ENCRYPTION_KEYS";

/// The keyring of `DATA_ENCRYPTION_KEYS`; the value is never echoed.
pub(super) fn keys<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Keyring, ConfigError> {
    let value = vars.required(
        VAR,
        "set it to `kid:base64key` (the first key encrypts, the others only decrypt); make a key with `openssl rand -base64 32`",
    )?;
    Keyring::parse(&value).map_err(|expected| ConfigError::Invalid {
        var: VAR,
        // Never echoed: it is key material.
        value: None,
        expected,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::settings;

    /// One valid key (the bytes 0 to 31), for settings in tests.
    pub const KEYS: &str = "test:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    /// The variables a configuration that production accepts needs here.
    pub(in crate::config) const VARS: &[(&str, &str)] = &[("DATA_ENCRYPTION_KEYS", KEYS)];

    fn message(vars: &[(&str, &str)]) -> String {
        settings(vars).expect_err("an invalid setting").to_string()
    }

    #[test]
    fn the_encryption_keys_are_required_and_never_echoed() {
        let missing = message(&[("DATA_ENCRYPTION_KEYS", "")]);
        assert!(
            missing.starts_with("missing DATA_ENCRYPTION_KEYS: "),
            "{missing}"
        );

        // 136 bits: base64 of a real value, but too short.
        let short = "v1:c2hvcnQta2V5LTEyOC1iaXQ=";
        let invalid = message(&[("DATA_ENCRYPTION_KEYS", short)]);
        assert!(
            invalid.starts_with("invalid DATA_ENCRYPTION_KEYS: "),
            "{invalid}"
        );
        assert!(!invalid.contains("c2hvcnQ"), "{invalid}");

        let database = settings(&[]).unwrap().database;
        assert_eq!(database.encryption_keys.active_id(), "test");
    }

    #[test]
    fn debug_output_never_shows_the_keys() {
        let database = settings(&[]).unwrap().database;
        let debug = format!("{database:?}");
        assert!(!debug.contains("AAECAwQF"), "{debug}");
    }
}
