//! Where Keycloak serves the login endpoints (under the realm), and how it
//! words its refusals of refresh tokens.

pub const AUTHORIZATION: &str = "/realms/test-realm/protocol/openid-connect/auth";
pub const TOKEN: &str = "/realms/test-realm/protocol/openid-connect/token";
pub const REVOCATION: &str = "/realms/test-realm/protocol/openid-connect/revoke";
pub const END_SESSION: &str = "/realms/test-realm/protocol/openid-connect/logout";

pub const UNKNOWN_REFRESH_TOKEN: &str = "Invalid refresh token";
pub const REVOKED_REFRESH_TOKEN: &str = "Token is not active";
pub const REUSED_REFRESH_TOKEN: &str = "Maximum allowed refresh token reuse exceeded";
