//! NF027: a route is reachable without an authorization guard.

use crate::audit::formats::guards;
use crate::audit::project::RustSource;
use crate::audit::scan::{find_word, matching_paren, top_level_args};
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF027",
    name: "unguarded-route",
    severity: Severity::High,
    title: "A route is reachable without an authorization guard",
    asvs: &["V4.1.3"],
    docs: "With RBAC in place, every route must say who may call it. The generated service declares each route through `Routes` (src/access/mod.rs) with its access next to the path: `require(\"items:read\")` (callers whose roles grant the permission), `authenticated()` (any caller with a valid token) or `public()` (anyone, without a token); `Routes` puts authentication and the permission check in front of every route that is not public. A route added with axum's own `.route(\"/path\", …)` bypasses all of that: anyone reaches it, whatever their token.\n\nThe check runs only when `config/rbac.toml` exists. It reads the service's Rust sources (not tests) and reports every `.route(\"/path\", …)` with a literal path, and every route declared `public()` (`.get(\"/path\", public(), handler)` and the other methods of `Routes`), except the routes public by design: the health checks `/health/live` and `/health/ready`, the sign-in routes of the `session` feature under `/auth/`, and the API description `/openapi.json` (NF032 covers it in production).",
    fix: "declare the route through `Routes` with the access it needs, as in src/resources/items/mod.rs: `.get(\"/items\", require(\"items:read\"), documented!(list))`",
    check,
};

/// The string literal an argument is, if it is one.
fn literal(arg: &str) -> Option<&str> {
    arg.trim().strip_prefix('"')?.strip_suffix('"')
}

/// The arguments of the call whose name ends at `name_end`, when `code`
/// continues with `(` there and the name follows a `.`.
fn method_call_args(code: &str, at: usize, name: &str) -> Option<Vec<String>> {
    if !code[..at].trim_end().ends_with('.') {
        return None;
    }
    let after = at + name.len();
    let open = after + code[after..].find('(')?;
    if !code[after..open].trim().is_empty() {
        return None;
    }
    let close = matching_paren(code, open)?;
    Some(
        top_level_args(&code[open + 1..close - 1])
            .into_iter()
            .map(str::to_owned)
            .collect(),
    )
}

fn check_source(source: &RustSource, out: &mut Findings) {
    let code = &source.code;
    // axum's `.route("/path", …)`: past `Routes`, so no declared access.
    for at in find_word(code, "route") {
        let Some(args) = method_call_args(code, at, "route") else {
            continue;
        };
        let Some(path) = args.first().and_then(|a| literal(a)) else {
            continue;
        };
        if !guards::PUBLIC_ROUTES.contains(&path) && path != guards::DESCRIPTION_ROUTE {
            out.add(
                &source.path,
                source.at(at),
                format!(
                    "route `{path}` is added with axum's `.route(…)`, past `Routes`: nobody is authenticated or checked for a permission there"
                ),
            );
        }
    }
    // `Routes` declarations: `.get("/path", public(), handler)`.
    for method in guards::ROUTE_METHODS {
        for at in find_word(code, method) {
            let Some(args) = method_call_args(code, at, method) else {
                continue;
            };
            let [path, access, _handler] = args.as_slice() else {
                continue;
            };
            let Some(path) = literal(path) else {
                continue;
            };
            let access: String = access.chars().filter(|c| !c.is_whitespace()).collect();
            if access == format!("{}()", guards::PUBLIC) && !guards::PUBLIC_ROUTES.contains(&path) {
                out.add(
                    &source.path,
                    source.at(at),
                    format!(
                        "route `{path}` is declared `{}()`: anyone may call it, without a token",
                        guards::PUBLIC
                    ),
                );
            }
        }
    }
}

fn check(project: &Project, out: &mut Findings) {
    if project.rbac.is_none() {
        return;
    }
    for source in project.rust_sources() {
        check_source(source, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{POLICY, TestProject, places};

    #[test]
    fn it_fires_on_axum_routes_and_public_data_routes() {
        let code = "pub fn routes() -> Routes {\n    Routes::new()\n        .get(\"/items\", require(\"items:read\"), list_items)\n        .get(\"/export\", public(), export)\n}\npub fn extra() -> Router {\n    Router::new().route(\"/debug\", get(debug))\n}\n";
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file("src/routes/items.rs", code)
            .check(&RULE);
        assert_eq!(
            places(&found),
            ["src/routes/items.rs:4:10", "src/routes/items.rs:7:19"]
        );
    }

    #[test]
    fn it_is_silent_for_declared_public_by_design_and_policy_less_routes() {
        let code = "pub fn routes() -> Routes {\n    Routes::new()\n        .get(\"/items\", require(\"items:read\"), list_items)\n        .post(\"/items\", require(\"items:write\"), create_item)\n        .get(\"/me\", authenticated(), me)\n        .get(\"/health/live\", public(), live)\n        .get(\"/auth/login\", public(), login)\n}\nfn other(headers: &HeaderMap) { headers.get(\"x-request-id\"); map.get(\"a\", \"b\"); }\npub fn router(routes: Routes) -> Router { routes.into_iter().fold(Router::new(), |r, (info, route)| r.route(&info.path, route)) }\nfn described(router: Router) -> Router { router.route(\"/openapi.json\", description()) }\n";
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file("src/routes/items.rs", code)
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
        let found = TestProject::new()
            .file(
                "src/routes/items.rs",
                "fn r() -> Router { Router::new().route(\"/a\", get(a)) }\n",
            )
            .check(&RULE);
        assert!(found.is_empty(), "no policy, no finding");
    }
}
