//! `check-policy`: checks an access-control policy the way start-up checks
//! the embedded one, without starting (for CI, before a release is built).

use std::path::Path;
use std::process::ExitCode;

use crate::rbac::Policy;

/// Reads `file` and checks it with [`Policy::parse`], the parser start-up
/// uses on the embedded policy: exit status 0 when it is valid, 1 naming
/// the first problem and its line.
pub fn run(file: &Path) -> ExitCode {
    let source = match std::fs::read_to_string(file) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", file.display());
            return ExitCode::FAILURE;
        }
    };
    match Policy::parse(&source) {
        Ok(policy) => {
            println!(
                "{}: valid ({} permissions, {} roles)",
                file.display(),
                policy.permissions().len(),
                policy.roles().count()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "error: {} line {}: {}",
                file.display(),
                error.line,
                error.message
            );
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_policy_passes_the_project_policy_and_fails_a_broken_one() {
        let dir = std::env::temp_dir().join(format!("check-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let broken = dir.join("broken.toml");
        std::fs::write(&broken, "permissions = [\"Items\"]\n").unwrap();
        let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rbac.toml");
        assert_eq!(run(&policy), ExitCode::SUCCESS);
        assert_eq!(run(&broken), ExitCode::FAILURE);
        assert_eq!(run(&dir.join("missing.toml")), ExitCode::FAILURE);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
