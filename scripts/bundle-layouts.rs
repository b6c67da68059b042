//! Bundles every layout file in assets/layouts/ into the binary.
use std::fmt::Write as _;

fn main() {
    let dir = std::path::Path::new("assets/layouts");
    println!("cargo:rerun-if-changed=assets/layouts");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut src = String::from(
        "/// Layouts bundled into the binary: (file name, text).\npub const BUNDLED: &[(&str, &str)] = &[\n",
    );
    for n in &names {
        println!("cargo:rerun-if-changed=assets/layouts/{n}");
        let _ = writeln!(
            src,
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/assets/layouts/{n}\"))),"
        );
    }
    src.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()))
        .join("bundled_layouts.rs");
    if let Err(e) = std::fs::write(&out, src) {
        println!("cargo:warning=could not write {}: {e}", out.display());
    }
}
