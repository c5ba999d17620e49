//! The README's quick starts are the example programs the test suite compiles, verbatim: they
//! cannot drift apart.

#[test]
fn quick_starts_are_the_compiled_examples() {
    let readme = include_str!("../../README.md");
    let examples = [
        (
            "axum",
            include_str!("../../crates/tower/examples/axum_quickstart.rs"),
        ),
        (
            "actix",
            include_str!("../../crates/actix/examples/actix_quickstart.rs"),
        ),
    ];
    for (name, source) in examples {
        assert!(
            readme.contains(&format!("```rust\n{source}```")),
            "README.md's {name} quick start differs from the example file; paste the file again"
        );
    }
}
