// `sqlx::migrate!()` embeds the files of `migrations/` at compile time, but cargo
// does not know about them: without this line, adding a migration would not
// trigger a rebuild and the new file would silently be missing from the binary.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
