//! `cfg(redis_tests)` when `REDIS_URL` is set: the Redis store tests run only then, and are
//! reported as ignored otherwise.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(redis_tests)");
    println!("cargo:rerun-if-env-changed=REDIS_URL");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("REDIS_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=redis_tests");
    }
}
