//! Compiles the variadic exec hooks (C: stable Rust cannot define variadic functions) and
//! exports them from the library next to the Rust ones.
fn main() {
    println!("cargo:rerun-if-changed=src/execl.c");
    println!("cargo:rerun-if-changed=src/nounwind.c");
    println!("cargo:rerun-if-changed=src/mem.c");
    println!("cargo:rerun-if-changed=src/spawn_versions.c");
    println!("cargo:rerun-if-changed=src/exports.map");
    println!("cargo:rerun-if-changed=src/exports-x86_64.map");
    println!("cargo:rerun-if-changed=src/load.ld");
    cc::Build::new()
        .file("src/execl.c")
        .file("src/nounwind.c")
        .file("src/mem.c")
        .file("src/spawn_versions.c")
        // mem.c defines memcpy & co.: the compiler must not turn their loops into calls to
        // themselves.
        .flag("-fno-builtin")
        .flag("-fno-tree-loop-distribute-patterns")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .compile("execl");
    // x86_64's libc has two versions of posix_spawn: the map names them (spawn_versions.c).
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let name = if arch == "x86_64" {
        "src/exports-x86_64.map"
    } else {
        "src/exports.map"
    };
    let map = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join(name);
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
    // No C runtime start files: the library has no use for crtbegin's TM-clone and gmon hooks,
    // whose weak symbols the loader would otherwise look up in every process.
    println!("cargo:rustc-cdylib-link-arg=-nostartfiles");
    // The code that runs at load, together (src/load.ld says why).
    let load =
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("src/load.ld");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-T,{}", load.display());
    // Each segment starts on a page of its own: the relocated read-only data (.data.rel.ro,
    // .dynamic, .got), which the loader writes in every process, then fits one page, not two
    // (each page written at load is a page fault).
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,separate-loadable-segments");
    // The read-only data (headers, the dynamic tables, constants) opens the code segment instead
    // of making a segment of its own: under /etc/ld.so.preload every process maps the library,
    // and each segment is a mapping the loader makes and exit tears down (with its fault), which
    // cost more here than all the pages of code the library maps (-10 to -12 us a process,
    // paired, against a separate read-only segment). The data's pages become executable; none
    // is writable (no page is both writable and executable: c-tests/layout.py), and the loader
    // still makes RELRO read-only. An option of lld's (GNU ld stops at it, where it only warns
    // of the -z above): given only when rustc links with its own lld.
    if rust_lld() {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--no-rosegment");
    }
}

/// Whether rustc links with its own lld: the default on x86_64 Linux (glibc) since Rust 1.90,
/// unless a linker is configured (cargo's `linker`, or `-C linker`, a flavour, `-fuse-ld` in the
/// flags). Another linker keeps its own layout (four segments: slower, not wrong).
fn rust_lld() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    var("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("RUSTC_LINKER").is_empty()
        && !["linker", "fuse-ld", "link-self-contained"]
            .iter()
            .any(|k| flags.contains(k))
}
