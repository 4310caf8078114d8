//! Who may call each route, declared where the route is defined.
//!
//! Routes are added through [`Routes`], whose methods take an [`Access`] next
//! to the path and the handler:
//!
//! ```text
//! Routes::new()
//!     .get("/items", require("items:read"), list_items)
//!     .post("/items", require("items:write"), create_item)
//!     .get("/me", authenticated(), me)
//!     .get("/health/live", public(), live)
//! ```
//!
//! There is no other way to add a route, so a route without a declared access
//! cannot exist: the type system enforces deny by default. [`Routes::table`]
//! lists every route with its access; a test walks it to check that each
//! required permission is declared in `config/rbac.toml`, and start-up refuses
//! to run otherwise.

use std::fmt;

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::state::AppState;

/// What a caller needs to reach a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token. For health checks and the like, never for data.
    Public,
    /// Any caller with a valid access token, whatever its roles.
    Authenticated,
    /// A valid access token whose roles grant this permission.
    Permission(&'static str),
}

/// Anyone may call the route, without a token.
pub const fn public() -> Access {
    Access::Public
}

/// Any authenticated caller may call the route.
pub const fn authenticated() -> Access {
    Access::Authenticated
}

/// Only callers whose roles grant `permission` (`resource:action`).
pub const fn require(permission: &'static str) -> Access {
    Access::Permission(permission)
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Public => f.write_str("public"),
            Self::Authenticated => f.write_str("authenticated"),
            Self::Permission(permission) => write!(f, "require({permission})"),
        }
    }
}

/// One route and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    pub path: String,
    pub access: Access,
}

/// A set of routes, each with its declared access. Becomes an axum router in
/// [`Routes::into_router`], which puts authentication and the permission
/// check in front of every route that is not public.
#[derive(Default)]
pub struct Routes {
    routes: Vec<(RouteInfo, MethodRouter<AppState>)>,
}

macro_rules! method {
    ($name:ident, $filter:ident, $method:ident) => {
        #[doc = concat!("Adds a `", stringify!($method), "` route.")]
        pub fn $name<H, T>(self, path: &str, access: Access, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add(
                Method::$method,
                MethodFilter::$filter,
                path,
                access,
                handler,
            )
        }
    };
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    method!(get, GET, GET);
    method!(post, POST, POST);
    method!(put, PUT, PUT);
    method!(patch, PATCH, PATCH);
    method!(delete, DELETE, DELETE);

    fn add<H, T>(
        mut self,
        method: Method,
        filter: MethodFilter,
        path: &str,
        access: Access,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let info = RouteInfo {
            method,
            path: path.to_owned(),
            access,
        };
        self.routes.push((info, on(filter, handler)));
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: Routes) -> Self {
        self.routes.extend(other.routes);
        self
    }

    /// Adds every route of `other` under `prefix` (`/api`).
    pub fn nest(mut self, prefix: &str, other: Routes) -> Self {
        self.routes
            .extend(other.routes.into_iter().map(|(mut info, route)| {
                info.path = format!("{prefix}{}", info.path);
                (info, route)
            }));
        self
    }

    /// Every route with its access, in the order they were added.
    pub fn table(&self) -> Vec<RouteInfo> {
        self.routes.iter().map(|(info, _)| info.clone()).collect()
    }

    /// The axum router. A non-public route runs authentication first, then
    /// (for [`Access::Permission`]) the permission check, then the handler.
    pub fn into_router(self, state: &AppState) -> Router<AppState> {
        self.routes
            .into_iter()
            .fold(Router::new(), |router, (info, route)| {
                let route = match info.access {
                    Access::Public => route,
                    Access::Authenticated => route.route_layer(middleware::from_fn_with_state(
                        state.clone(),
                        auth::authenticate,
                    )),
                    Access::Permission(permission) => route
                        // Layers run outside-in from the last one added:
                        // authenticate, then check the permission.
                        .route_layer(middleware::from_fn(move |request, next| {
                            check_permission(permission, request, next)
                        }))
                        .route_layer(middleware::from_fn_with_state(
                            state.clone(),
                            auth::authenticate,
                        )),
                };
                // Routes on one path with different methods are merged.
                router.route(&info.path, route)
            })
    }
}

/// Lets the request through when the caller's roles grant `permission`;
/// answers 403 otherwise. Runs after `auth::authenticate`.
async fn check_permission(
    permission: &'static str,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(principal) = request.extensions().get::<Principal>() else {
        // Only reachable if a route were mounted without authentication.
        return Err(ApiError::Unauthorized(
            "authentication is required".to_owned(),
        ));
    };
    if principal.can(permission) {
        return Ok(next.run(request).await);
    }
    tracing::warn!(
        subject = %principal.subject,
        roles = ?principal.roles,
        permission,
        method = %request.method(),
        path = request.uri().path(),
        "access denied"
    );
    Err(ApiError::Forbidden(format!(
        "this requires the permission `{permission}`"
    )))
}
