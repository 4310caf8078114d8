//! Where the `oidc-provider` package serves the login endpoints, and how the
//! test IdP words its refusals of refresh tokens.

pub const AUTHORIZATION: &str = "/auth";
pub const TOKEN: &str = "/token";
pub const REVOCATION: &str = "/token/revocation";
pub const END_SESSION: &str = "/session/end";

pub const UNKNOWN_REFRESH_TOKEN: &str = "invalid refresh token";
pub const REVOKED_REFRESH_TOKEN: &str = "refresh token revoked";
pub const REUSED_REFRESH_TOKEN: &str = "refresh token already used";
