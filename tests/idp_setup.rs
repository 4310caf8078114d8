//! The identity-provider setup shipped with generated projects, checked as
//! data: no container engine runs here, so Keycloak and Authentik cannot be
//! started, but their setup files can be parsed and held against what the
//! generated service expects (the roles, the client and its secret, the
//! audience, the issuer, a test user per role) and against each other
//! (`compose.yaml` only uses variables that the local `.env` defines).

use std::collections::BTreeMap;

use nestflux::answers::{Answers, Database, DeploySet, FeatureSet, Idp, ProjectName};
use nestflux::render::{DEFAULT_ROLES, FileSet, render};
use nestflux::secrets::{Secrets, seeded_rng};
use serde_json::Value as Json;
use serde_norway::Value as Yaml;

const NAME: &str = "shop-api";

fn secrets() -> Secrets {
    Secrets::generate(&mut seeded_rng(3), DEFAULT_ROLES)
}

fn project(idp: Idp) -> FileSet {
    let answers = Answers {
        name: ProjectName::parse(NAME).unwrap(),
        idp,
        database: Database::Sqlite,
        features: FeatureSet::none(),
        deploy: DeploySet::none(),
    };
    render(&answers, &secrets()).expect("render")
}

fn text(files: &FileSet, path: &str) -> String {
    let bytes = files
        .get(path)
        .unwrap_or_else(|| panic!("{path} is not generated"));
    String::from_utf8(bytes.clone()).unwrap()
}

/// The `KEY=value` lines of a `.env` file.
fn dotenv(files: &FileSet) -> BTreeMap<String, String> {
    text(files, ".env")
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

// ---- Keycloak --------------------------------------------------------------

fn realm() -> (Json, BTreeMap<String, String>) {
    let files = project(Idp::Keycloak);
    let realm = serde_json::from_str(&text(&files, "deploy/keycloak/realm.json"))
        .expect("the realm export is JSON");
    (realm, dotenv(&files))
}

#[test]
fn the_keycloak_realm_is_named_after_the_project_and_matches_the_issuer() {
    let (realm, env) = realm();
    assert_eq!(realm["realm"], NAME);
    assert_eq!(realm["enabled"], true);
    assert_eq!(
        env["AUTH_ISSUER_URL"],
        format!("http://localhost:8180/realms/{NAME}")
    );
}

#[test]
fn the_keycloak_realm_holds_every_role() {
    let (realm, _) = realm();
    let roles: Vec<&str> = realm["roles"]["realm"]
        .as_array()
        .expect("realm roles")
        .iter()
        .map(|role| role["name"].as_str().unwrap())
        .collect();
    assert_eq!(roles, DEFAULT_ROLES);
}

#[test]
fn the_keycloak_client_is_confidential_with_the_projects_secret_and_an_audience_mapper() {
    let (realm, env) = realm();
    let clients = realm["clients"].as_array().expect("clients");
    assert_eq!(clients.len(), 1);
    let client = &clients[0];
    assert_eq!(client["clientId"], NAME);
    assert_eq!(client["publicClient"], false);
    assert_eq!(client["clientAuthenticatorType"], "client-secret");
    assert_eq!(client["secret"], secrets().client_secret.as_str());
    assert_eq!(env["DEV_CLIENT_SECRET"], secrets().client_secret);
    assert_eq!(env["DEV_CLIENT_ID"], NAME);

    // Without the audience mapper, Keycloak's access tokens would not name the
    // API in `aud` and the service would refuse every one of them.
    let mappers = client["protocolMappers"].as_array().expect("mappers");
    let audience = mappers
        .iter()
        .find(|m| m["protocolMapper"] == "oidc-audience-mapper")
        .expect("an audience mapper");
    assert_eq!(audience["config"]["included.client.audience"], NAME);
    assert_eq!(audience["config"]["access.token.claim"], "true");
    assert_eq!(env["AUTH_AUDIENCE"], NAME);
    // AUTH_CLIENT_ID defaults to the audience: the client's own roles count.
    assert!(!env.contains_key("AUTH_CLIENT_ID"));
}

#[test]
fn the_keycloak_realm_has_one_test_user_per_role_with_the_projects_passwords() {
    let (realm, env) = realm();
    let users = realm["users"].as_array().expect("users");
    assert_eq!(users.len(), DEFAULT_ROLES.len());
    for role in DEFAULT_ROLES {
        let user = users
            .iter()
            .find(|u| u["username"] == format!("test-{role}"))
            .unwrap_or_else(|| panic!("no user for {role}"));
        assert_eq!(user["enabled"], true);
        assert_eq!(user["realmRoles"], serde_json::json!([role]));
        let password = &secrets().user_passwords[*role];
        assert_eq!(user["credentials"][0]["value"], password.as_str());
        assert_eq!(user["credentials"][0]["temporary"], false);
        assert_eq!(
            &env[&format!("DEV_PASSWORD_{}", role.to_uppercase())],
            password
        );
    }
}

// ---- Authentik -------------------------------------------------------------

fn blueprint() -> (Vec<Yaml>, BTreeMap<String, String>) {
    let files = project(Idp::Authentik);
    let blueprint: Yaml = serde_norway::from_str(&text(&files, "deploy/authentik/blueprint.yaml"))
        .expect("the blueprint is YAML");
    assert_eq!(blueprint["version"], Yaml::from(1));
    let entries = blueprint["entries"].as_sequence().expect("entries").clone();
    (entries, dotenv(&files))
}

fn of_model<'a>(entries: &'a [Yaml], model: &str) -> Vec<&'a Yaml> {
    entries.iter().filter(|e| e["model"] == model).collect()
}

/// The tag and value of a custom YAML tag such as `!KeyOf provider`.
fn tagged(value: &Yaml) -> (String, &Yaml) {
    match value {
        Yaml::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
        other => panic!("expected a tagged value, got {other:?}"),
    }
}

#[test]
fn the_blueprint_has_a_group_per_role() {
    let (entries, _) = blueprint();
    let groups: Vec<&str> = of_model(&entries, "authentik_core.group")
        .iter()
        .map(|g| g["attrs"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(groups, DEFAULT_ROLES);
}

#[test]
fn the_blueprint_has_a_test_user_per_role_in_its_group_with_an_app_password() {
    let (entries, env) = blueprint();
    let users = of_model(&entries, "authentik_core.user");
    assert_eq!(users.len(), DEFAULT_ROLES.len());
    for role in DEFAULT_ROLES {
        let user = users
            .iter()
            .find(|u| u["attrs"]["username"] == format!("test-{role}").as_str())
            .unwrap_or_else(|| panic!("no user for {role}"));
        let password = &secrets().user_passwords[*role];
        assert_eq!(user["attrs"]["password"], password.as_str());
        assert_eq!(
            &env[&format!("DEV_PASSWORD_{}", role.to_uppercase())],
            password
        );
        let groups = user["attrs"]["groups"].as_sequence().unwrap();
        let (tag, target) = tagged(&groups[0]);
        assert_eq!(tag, "!KeyOf");
        assert_eq!(target.as_str(), Some(format!("group-{role}").as_str()));
        let user_id = user["id"].as_str().unwrap();

        let token = of_model(&entries, "authentik_core.token")
            .into_iter()
            .find(|t| tagged(&t["attrs"]["user"]).1.as_str() == Some(user_id))
            .unwrap_or_else(|| panic!("no app password for {role}"));
        assert_eq!(token["attrs"]["intent"], "app_password");
        assert_eq!(token["attrs"]["key"], password.as_str());
    }
    // Every `!KeyOf` points at an entry id.
    let ids: Vec<&str> = entries.iter().filter_map(|e| e["id"].as_str()).collect();
    for role in DEFAULT_ROLES {
        assert!(ids.contains(&format!("group-{role}").as_str()));
    }
}

#[test]
fn the_blueprint_provider_signs_with_an_rsa_key_and_issues_the_apis_audience() {
    let (entries, env) = blueprint();
    let providers = of_model(&entries, "authentik_providers_oauth2.oauth2provider");
    assert_eq!(providers.len(), 1);
    let provider = &providers[0]["attrs"];
    assert_eq!(provider["client_type"], "confidential");
    assert_eq!(provider["client_id"], NAME);
    assert_eq!(provider["client_secret"], secrets().client_secret.as_str());
    assert_eq!(env["DEV_CLIENT_SECRET"], secrets().client_secret);
    // Authentik puts the client id in `aud`: it is the service's audience.
    assert_eq!(env["AUTH_AUDIENCE"], NAME);
    assert_eq!(provider["issuer_mode"], "per_provider");

    // Without a signing key Authentik signs with HS256, which the service refuses.
    let (tag, find) = tagged(&provider["signing_key"]);
    assert_eq!(tag, "!Find");
    assert_eq!(find[0], "authentik_crypto.certificatekeypair");

    // The provider offers the groups mapping.
    let mappings = provider["property_mappings"].as_sequence().unwrap();
    assert!(
        mappings
            .iter()
            .any(|m| tagged(m) == ("!KeyOf".to_owned(), &Yaml::from("scope-groups")))
    );

    let apps = of_model(&entries, "authentik_core.application");
    assert_eq!(apps.len(), 1);
    let slug = apps[0]["attrs"]["slug"].as_str().unwrap();
    assert_eq!(
        tagged(&apps[0]["attrs"]["provider"]).1,
        &Yaml::from("provider")
    );
    // Authentik's issuer is per application, with a trailing slash.
    assert_eq!(
        env["AUTH_ISSUER_URL"],
        format!("http://localhost:9000/application/o/{slug}/")
    );
}

#[test]
fn the_blueprint_maps_group_names_into_the_groups_claim() {
    let (entries, _) = blueprint();
    let mapping = entries
        .iter()
        .find(|e| e["id"] == "scope-groups")
        .expect("the groups scope mapping");
    assert_eq!(mapping["model"], "authentik_providers_oauth2.scopemapping");
    assert_eq!(mapping["attrs"]["scope_name"], "groups");
    let expression = mapping["attrs"]["expression"].as_str().unwrap();
    assert!(
        expression.contains(r#"{"groups": [group.name for group in"#),
        "{expression}"
    );
}

// ---- compose.yaml ----------------------------------------------------------

fn compose(idp: Idp) -> (Yaml, String, BTreeMap<String, String>) {
    let files = project(idp);
    let source = text(&files, "compose.yaml");
    let compose = serde_norway::from_str(&source).expect("compose.yaml is YAML");
    (compose, source, dotenv(&files))
}

#[test]
fn compose_runs_keycloak_importing_the_realm() {
    let (compose, _, _) = compose(Idp::Keycloak);
    let keycloak = &compose["services"]["keycloak"];
    let command: Vec<&str> = keycloak["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(command.contains(&"--import-realm"), "{command:?}");
    assert_eq!(
        keycloak["volumes"][0],
        "./deploy/keycloak:/opt/keycloak/data/import:ro"
    );
    assert_eq!(
        keycloak["environment"]["KC_HOSTNAME"],
        "http://localhost:8180"
    );
}

#[test]
fn compose_runs_authentik_with_its_database_cache_server_and_worker_applying_the_blueprint() {
    let (compose, _, _) = compose(Idp::Authentik);
    let services = compose["services"].as_mapping().unwrap();
    for service in ["postgresql", "redis", "server", "worker"] {
        assert!(services.contains_key(service), "no {service} service");
    }
    assert_eq!(
        compose["services"]["worker"]["volumes"][0],
        "./deploy/authentik:/blueprints/custom:ro"
    );
}

#[test]
fn compose_takes_every_password_from_the_local_env_file() {
    for idp in [Idp::Keycloak, Idp::Authentik] {
        let (_, source, env) = compose(idp);
        let mut referenced = 0;
        for (i, _) in source.match_indices("${") {
            // `$${X}` is a literal `${X}` for the container's shell.
            if source[..i].ends_with('$') {
                continue;
            }
            let name: String = source[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                env.contains_key(&name),
                "{idp:?}: compose.yaml uses ${name}, not in .env"
            );
            referenced += 1;
        }
        assert!(referenced > 0, "{idp:?}");
        // No secret is written into compose.yaml itself (it is committed).
        for secret in secrets().values() {
            assert!(
                !source.contains(secret),
                "{idp:?}: a secret in compose.yaml"
            );
        }
    }
}

#[test]
fn a_generic_oidc_project_has_no_compose_idp_and_points_at_nestflux_dev() {
    let files = project(Idp::Oidc);
    assert!(!files.contains_key("compose.yaml"));
    assert!(!files.keys().any(|path| path.starts_with("deploy/")));
    let env = dotenv(&files);
    // The issuer `nestflux dev` serves, so that `cargo run` works with it.
    assert_eq!(
        env["AUTH_ISSUER_URL"],
        nestflux::dev::config::OIDC_DEV_ISSUER
    );
    assert_eq!(env["DEV_CLIENT_SECRET"], secrets().client_secret);
    for role in DEFAULT_ROLES {
        assert_eq!(
            env[&nestflux::project::env::password_var(role)],
            secrets().user_passwords[*role]
        );
    }
}

#[test]
fn secrets_appear_only_in_the_local_env_file_and_the_idp_setup() {
    for idp in Idp::ALL {
        for (path, bytes) in project(idp) {
            let text = String::from_utf8_lossy(&bytes);
            let allowed = path == ".env" || path.starts_with("deploy/");
            for secret in secrets().values() {
                assert!(
                    allowed || !text.contains(secret),
                    "{idp:?}: {path} contains a secret"
                );
            }
        }
    }
}
