//! Secrets generated for one project: the client secret and test-user
//! passwords of the local identity provider, the passwords its containers
//! need, the local PostgreSQL's password and the data-encryption key of the
//! local `.env`.
//!
//! They are random per project, so no two projects share a credential, and
//! they are kept apart from [`crate::answers::Answers`] on purpose: answers are
//! recorded in `nestflux.toml` and committed, secrets only reach the IdP setup
//! files under `deploy/` and the git-ignored local `.env`.
//!
//! `nestflux new` draws them from the operating system's generator
//! ([`Secrets::from_os_rng`]); tests pass a seeded generator to
//! [`Secrets::generate`] so that rendered snapshots are deterministic.

use std::collections::BTreeMap;

use base64::Engine as _;
use rand::CryptoRng;
use rand::distr::{Alphanumeric, SampleString as _};
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use serde::Serialize;

/// Length of every generated secret. 32 alphanumeric characters carry about
/// 190 bits of entropy, and survive any quoting (YAML, JSON, shell, `.env`).
const SECRET_LEN: usize = 32;

/// The secrets of one project, exposed to templates as `secrets.*`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Secrets {
    /// The confidential client's secret at the local IdP.
    pub client_secret: String,
    /// One password per role, for the test user holding that role
    /// (`secrets.user_passwords.admin`).
    pub user_passwords: BTreeMap<String, String>,
    /// The local IdP's own administrator password.
    pub idp_admin_password: String,
    /// Authentik's `AUTHENTIK_SECRET_KEY` (signs its cookies and sessions).
    pub idp_secret_key: String,
    /// The password of the IdP's own database container.
    pub idp_database_password: String,
    /// The superuser password of the local PostgreSQL of compose.yaml
    /// (`--db postgres`): for its set-up script and the tests' databases.
    pub database_password: String,
    /// The password of the service's own role in that PostgreSQL, which owns
    /// the service's schema and nothing else (`deploy/postgres/`).
    pub app_database_password: String,
    /// A 256-bit AES key, standard base64: the local `DATA_ENCRYPTION_KEYS`
    /// (feature `encryption`). Never the placeholder of `.env.example`.
    pub data_encryption_key: String,
}

/// Bytes of a data-encryption key: AES-256 takes exactly 256 bits.
const DATA_KEY_BYTES: usize = 32;

impl Secrets {
    /// Draws every secret from `rng`, one test-user password per role. The
    /// order of draws is fixed, so a seeded generator gives the same secrets.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, roles: &[&str]) -> Self {
        let mut draw = || Alphanumeric.sample_string(rng, SECRET_LEN);
        let client_secret = draw();
        let idp_admin_password = draw();
        let idp_secret_key = draw();
        let idp_database_password = draw();
        let user_passwords = roles
            .iter()
            .map(|role| ((*role).to_owned(), draw()))
            .collect();
        // Drawn last, so that adding them left the earlier secrets unchanged.
        let database_password = draw();
        let mut key = [0u8; DATA_KEY_BYTES];
        rng.fill_bytes(&mut key);
        let data_encryption_key = base64::engine::general_purpose::STANDARD.encode(key);
        // After the key, for the same reason.
        let app_database_password = Alphanumeric.sample_string(rng, SECRET_LEN);
        Self {
            client_secret,
            user_passwords,
            idp_admin_password,
            idp_secret_key,
            idp_database_password,
            database_password,
            app_database_password,
            data_encryption_key,
        }
    }

    /// Secrets from the operating system's random number generator.
    pub fn from_os_rng(roles: &[&str]) -> Self {
        Self::generate(&mut UnwrapErr(SysRng), roles)
    }

    /// One more secret of the same strength, from the operating system's
    /// generator: the password of a test user `nestflux add role` creates.
    pub fn random_password() -> String {
        Alphanumeric.sample_string(&mut UnwrapErr(SysRng), SECRET_LEN)
    }

    /// Every secret value, for tests that check where secrets may appear.
    pub fn values(&self) -> Vec<&str> {
        let mut all = vec![
            self.client_secret.as_str(),
            self.idp_admin_password.as_str(),
            self.idp_secret_key.as_str(),
            self.idp_database_password.as_str(),
            self.database_password.as_str(),
            self.app_database_password.as_str(),
            self.data_encryption_key.as_str(),
        ];
        all.extend(self.user_passwords.values().map(String::as_str));
        all
    }
}

/// Never prints the values: a `Debug` of a value holding secrets must be safe
/// to log.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("user_passwords", &self.user_passwords.keys())
            .finish_non_exhaustive()
    }
}

/// A generator for tests: the same seed always gives the same secrets.
pub fn seeded_rng(seed: u64) -> impl CryptoRng {
    use rand::SeedableRng as _;
    rand::rngs::StdRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: &[&str] = &["admin", "editor", "viewer"];

    #[test]
    fn a_seeded_generator_gives_the_same_secrets_and_another_seed_others() {
        let a = Secrets::generate(&mut seeded_rng(7), ROLES);
        let b = Secrets::generate(&mut seeded_rng(7), ROLES);
        let c = Secrets::generate(&mut seeded_rng(8), ROLES);
        assert_eq!(a, b);
        assert_ne!(a.client_secret, c.client_secret);
    }

    #[test]
    fn every_secret_is_distinct_long_and_alphanumeric() {
        let secrets = Secrets::from_os_rng(ROLES);
        let values = secrets.values();
        assert_eq!(values.len(), 7 + ROLES.len());
        let key = base64::engine::general_purpose::STANDARD
            .decode(&secrets.data_encryption_key)
            .unwrap();
        assert_eq!(key.len(), DATA_KEY_BYTES);
        for value in values.iter().filter(|v| **v != secrets.data_encryption_key) {
            assert_eq!(value.len(), SECRET_LEN);
            assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{value}");
        }
        let unique: std::collections::BTreeSet<_> = values.iter().collect();
        assert_eq!(unique.len(), values.len());
        assert_eq!(
            secrets.user_passwords.keys().collect::<Vec<_>>(),
            ["admin", "editor", "viewer"]
        );
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let secrets = Secrets::generate(&mut seeded_rng(1), ROLES);
        let debug = format!("{secrets:?}");
        for value in secrets.values() {
            assert!(!debug.contains(value), "{debug}");
        }
    }
}
