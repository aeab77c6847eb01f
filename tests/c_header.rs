//! include/hushword.h must be exactly what cbindgen generates from src/capi/ today.
//!
//! After changing the C API, regenerate it with
//! `HUSHWORD_BLESS=1 cargo test --release --test c_header` and commit the header.

use std::path::Path;

#[test]
fn committed_header_matches_the_c_api() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml must parse");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/capi/mod.rs"))
        .generate()
        .expect("cbindgen must parse src/capi/");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");

    let header = root.join("include/hushword.h");
    if std::env::var_os("HUSHWORD_BLESS").is_some() {
        std::fs::create_dir_all(header.parent().unwrap()).unwrap();
        std::fs::write(&header, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&header).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "include/hushword.h is out of date with src/capi/ (first difference at line {}).\n\
             Regenerate it with: HUSHWORD_BLESS=1 cargo test --release --test c_header",
            first_difference + 1
        );
    }
    assert!(generated.contains("hushword_push_i16"), "{generated}");
}
