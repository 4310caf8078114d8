//! The development identity provider of `nestflux dev`: run next to a
//! generated service, it serves exactly the issuer of the project's `.env`
//! (Keycloak's `http://localhost:8180/realms/<name>`, Authentik's
//! `http://localhost:9000/application/o/<name>/`, or the local issuer `new`
//! writes for generic OpenID Connect), on loopback only, and issues tokens
//! shaped like that provider's for one test user per role of
//! `config/rbac.toml`. No container, no other program: the first run of a
//! new project ends with a real signed token accepted by the service.
//!
//! - [`config`]: what it serves, read and checked from the project.
//! - [`server`]: the endpoints (discovery, JWKS, token; with browser
//!   sessions also the sign-in page, refresh, revocation and logout).
//! - [`client`]: getting a token from it (or from the real provider).

pub mod client;
pub mod config;
mod keys;
mod page;
pub mod server;
mod shape;
mod store;

pub use config::{DevConfig, TestUser};
pub use server::{BindError, Listeners, Provider, bind};
