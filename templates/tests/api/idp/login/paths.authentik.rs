//! Where Authentik serves the login endpoints (shared by every application,
//! but for end-session), and how the test IdP words its refusals of refresh
//! tokens.

pub const AUTHORIZATION: &str = "/application/o/authorize/";
pub const TOKEN: &str = "/application/o/token/";
pub const REVOCATION: &str = "/application/o/revoke/";
pub const END_SESSION: &str = "/application/o/test-api/end-session/";

pub const UNKNOWN_REFRESH_TOKEN: &str = "invalid refresh token";
pub const REVOKED_REFRESH_TOKEN: &str = "refresh token revoked";
pub const REUSED_REFRESH_TOKEN: &str = "refresh token already used";
