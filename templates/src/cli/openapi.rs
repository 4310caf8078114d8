//! `openapi`: prints the API description (OpenAPI 3.1, JSON), the content of
//! the committed `openapi.json`. Reads no configuration: the document names
//! a placeholder issuer (`openapi::DOCUMENTED_ISSUER`), so it changes only
//! when the code does; the served `GET /openapi.json` names the configured one.

use std::io::Write as _;
use std::process::ExitCode;

use crate::openapi;
use crate::routes;

/// The command that refreshes the committed file, for messages that ask for it.
pub const REFRESH: &str = "cargo run --quiet -- openapi > openapi.json";

/// The document as committed in `openapi.json`: independent of the
/// environment, so it only changes when the code does.
fn committed() -> utoipa::openapi::OpenApi {
    routes::description(openapi::DOCUMENTED_ISSUER)
}

pub fn run() -> ExitCode {
    let json = openapi::to_json(&committed());
    match std::io::stdout().lock().write_all(json.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot write the API description: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;
    use crate::cli::tests::parse;

    #[test]
    fn openapi_is_a_command() {
        assert_eq!(parse(&["openapi"]).unwrap(), Some(Command::Openapi));
    }

    /// The committed `openapi.json` is what the code describes: API changes
    /// show in review as a change of this file.
    #[test]
    fn the_committed_openapi_json_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let current = openapi::to_json(&committed());
        let file = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {path} ({error}); create it: {REFRESH}"));
        assert!(
            file == current,
            "openapi.json is stale: the API changed. Refresh it with `{REFRESH}`, and review the difference"
        );
    }
}
