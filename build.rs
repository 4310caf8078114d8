//! The templates are embedded with `include_dir!`, which cargo cannot see
//! through: without this line an edited template would not trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=templates");
}
