//! The HTTP surface: one `routes()` per resource, assembled here.
//!
//! Every route declares who may call it, next to its path ([`access`]): a
//! permission (`require("items:read")`), any authenticated caller, or
//! `public()`. There is no other way to add a route. Unknown paths and
//! methods answer problem+json too.

use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

pub mod access;
pub mod health;
pub mod items;
pub mod me;

use access::Routes;

/// Every route of the service with its declared access: the table a test
/// walks and start-up checks against the RBAC policy.
pub fn routes() -> Routes {
    Routes::new()
        .merge(health::routes())
        .nest("/api", items::routes().merge(me::routes()))
}

/// The whole application router, without the cross-cutting layers (request id,
/// tracing, limits), which `startup` adds.
pub fn api_router(state: AppState) -> Router {
    routes()
        .into_router(&state)
        .fallback(not_found)
        // Must come after every route: it applies to the routes registered so far.
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no route matches this path".to_owned())
}

/// axum adds the `Allow` header listing the methods the route does accept.
async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::access::Access;
    use super::*;
    use crate::rbac::Policy;

    /// Paths that may be reached without a token. Adding one is a security
    /// decision: it belongs in review, so it has to be written here too.
    const PUBLIC_PATHS: &[&str] = &["/health/live", "/health/ready"];

    #[test]
    fn every_route_declares_an_access_the_policy_can_grant() {
        let policy = Policy::embedded().unwrap();
        let table = routes().table();
        assert!(!table.is_empty());
        for route in table {
            let name = format!("{} {}", route.method, route.path);
            match route.access {
                Access::Public => assert!(
                    PUBLIC_PATHS.contains(&route.path.as_str()),
                    "{name} is public but not in PUBLIC_PATHS"
                ),
                Access::Authenticated => {}
                Access::Permission(permission) => assert!(
                    policy.permissions().contains(permission),
                    "{name} requires `{permission}`, which config/rbac.toml does not declare"
                ),
            }
            if route.path.starts_with("/api") {
                assert_ne!(
                    route.access,
                    Access::Public,
                    "{name} is under /api but public"
                );
            }
        }
    }
}
