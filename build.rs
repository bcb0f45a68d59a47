//! Compiles the variadic exec hooks (C: stable Rust cannot define variadic functions) and
//! exports them from the library next to the Rust ones.
fn main() {
    println!("cargo:rerun-if-changed=src/execl.c");
    println!("cargo:rerun-if-changed=src/nounwind.c");
    println!("cargo:rerun-if-changed=src/exports.map");
    cc::Build::new()
        .file("src/execl.c")
        .file("src/nounwind.c")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .compile("execl");
    let map =
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("src/exports.map");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
    // DF_1_INITFIRST: the constructor runs before any other library's, so every real function
    // is resolved before any code in the process can start a program.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,initfirst");
}
