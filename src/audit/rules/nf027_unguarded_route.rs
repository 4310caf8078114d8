//! NF027: a route is reachable without an authorization guard.

use crate::audit::formats::guards;
use crate::audit::project::RustSource;
use crate::audit::scan::{find_word, matching_brace, matching_paren};
use crate::audit::{Findings, Project, Rule, Severity};

pub static RULE: Rule = Rule {
    id: "NF027",
    name: "unguarded-route",
    severity: Severity::High,
    title: "A route is reachable without an authorization guard",
    asvs: &["V4.1.3"],
    docs: "With RBAC in place, every route except the public ones (health checks) must say which permission it needs. Authentication alone is not authorization: a route without a guard lets every authenticated caller, whatever their role, do what it does.\n\nThe check runs only when `config/rbac.toml` exists. It reads the service's Rust sources (not tests) for axum `.route(\"/path\", …)` calls. A route is guarded when its method router carries a guard (`.route_layer(require(\"items:read\"))` and the other spellings of the audit's formats module), when every handler it names has a guard in its signature or body, or when a guarding `.route_layer(…)` follows it in the same file. `/health/live` and `/health/ready` are public by design.",
    fix: "require a permission on the route, e.g. `get(list_items).route_layer(require(\"items:read\"))`, or in the handler",
    check,
};

fn has_guard(text: &str) -> bool {
    guards::PERMISSION_CALLS.iter().any(|call| {
        find_word(text, call).any(|at| text[at + call.len()..].trim_start().starts_with('('))
    }) || guards::GUARD_MARKERS.iter().any(|m| text.contains(m))
}

/// The text of `fn name(…) … { … }` in `code`, if the file defines it.
fn function_text<'a>(code: &'a str, name: &str) -> Option<&'a str> {
    find_word(code, name).find_map(|at| {
        if !code[..at].trim_end().ends_with("fn") {
            return None;
        }
        let open = at + code[at..].find('{')?;
        Some(&code[at..matching_brace(code, open)?])
    })
}

/// The handlers a method router names: `get(list).post(create)` → `list`, `create`.
fn handlers(router: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for method in guards::METHOD_ROUTERS {
        for at in find_word(router, method) {
            let rest = router[at + method.len()..].trim_start();
            let Some(inner) = rest.strip_prefix('(') else {
                continue;
            };
            let name: &str = inner
                .trim_start()
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or_default();
            if let Some(last) = name.rsplit("::").next().filter(|n| !n.is_empty()) {
                out.push(last);
            }
        }
    }
    out
}

fn check_source(source: &RustSource, out: &mut Findings) {
    let code = &source.code;
    for at in find_word(code, "route") {
        if !code[..at].trim_end().ends_with('.') {
            continue;
        }
        let Some(open) = code[at..].find('(').map(|i| at + i) else {
            continue;
        };
        if !code[at + "route".len()..open].trim().is_empty() {
            continue;
        }
        let Some(close) = matching_paren(code, open) else {
            continue;
        };
        let args = &code[open + 1..close - 1];
        let Some(path) = args
            .trim_start()
            .strip_prefix('"')
            .and_then(|p| p.split('"').next())
        else {
            continue;
        };
        if guards::PUBLIC_ROUTES.contains(&path) {
            continue;
        }
        let router = &args[args.find(',').map_or(args.len(), |i| i + 1)..];
        let names = handlers(router);
        let handlers_guarded = !names.is_empty()
            && names
                .iter()
                .all(|n| function_text(code, n).is_some_and(has_guard));
        let layer_after = find_word(&code[close..], "route_layer").any(|i| {
            let layer_open = close + i + code[close + i..].find('(').unwrap_or(0);
            matching_paren(code, layer_open).is_some_and(|end| has_guard(&code[layer_open..end]))
        });
        if !(has_guard(router) || handlers_guarded || layer_after) {
            out.add(
                &source.path,
                source.at(at),
                format!("route `{path}` has no authorization guard"),
            );
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
    use crate::audit::testing::{TestProject, places};

    const POLICY: &str = "[roles.viewer]\npermissions = [\"items:read\"]\n";

    #[test]
    fn it_fires_on_a_route_without_a_guard() {
        let code = "pub fn router() -> Router {\n    Router::new()\n        .route(\"/items\", get(list_items).route_layer(require(\"items:read\")))\n        .route(\"/export\", get(export))\n}\nasync fn export() {}\n";
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file("src/routes/items.rs", code)
            .check(&RULE);
        assert_eq!(places(&found), ["src/routes/items.rs:4:10"]);
    }

    #[test]
    fn it_is_silent_for_guarded_public_and_policy_less_routes() {
        let code = "pub fn router() -> Router {\n    Router::new()\n        .route(\"/items\", get(list_items).post(create_item))\n        .route(\"/health/live\", get(live))\n}\nasync fn list_items(_: RequirePermission<ItemsRead>) {}\nasync fn create_item(p: Principal) { p.require(\"items:write\")?; }\n";
        let found = TestProject::new()
            .file("config/rbac.toml", POLICY)
            .file("src/routes/items.rs", code)
            .file("src/routes/admin.rs", "fn r() -> Router { Router::new().route(\"/a\", get(a)).route(\"/b\", post(b)).route_layer(require(\"admin:all\")) }\n")
            .check(&RULE);
        assert!(found.is_empty(), "{:?}", places(&found));
        let found = TestProject::new()
            .file(
                "src/routes/items.rs",
                code.replace("RequirePermission<ItemsRead>", "P").as_str(),
            )
            .check(&RULE);
        assert!(found.is_empty(), "no policy, no finding");
    }
}
