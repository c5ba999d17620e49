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

/// Lines a user types: neither blank nor a comment.
fn lines_of_code(source: &str) -> usize {
    source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .count()
}

#[test]
fn quick_starts_stay_short() {
    let axum = include_str!("../../crates/tower/examples/axum_quickstart.rs");
    assert!(
        lines_of_code(axum) <= 15,
        "the axum quick start grew past 15 lines"
    );
    // actix-web needs a route attribute per handler and an app factory closure.
    let actix = include_str!("../../crates/actix/examples/actix_quickstart.rs");
    assert!(
        lines_of_code(actix) <= 19,
        "the actix quick start grew past 19 lines"
    );
}
