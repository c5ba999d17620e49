//! The README's quick starts are the example programs the test suite compiles, verbatim: they
//! cannot drift apart.

/// Each quick start and its most lines of code. actix-web needs a route attribute per handler,
/// so the same pages cost it 4 lines more.
const QUICK_STARTS: [(&str, &str, usize); 2] = [
    (
        "axum",
        include_str!("../../crates/tower/examples/axum_quickstart.rs"),
        15,
    ),
    (
        "actix",
        include_str!("../../crates/actix/examples/actix_quickstart.rs"),
        19,
    ),
];

#[test]
fn quick_starts_are_the_compiled_examples() {
    let readme = include_str!("../../README.md");
    for (name, source, _) in QUICK_STARTS {
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
    for (name, source, limit) in QUICK_STARTS {
        let lines = lines_of_code(source);
        assert!(
            lines <= limit,
            "the {name} quick start has {lines} lines of code"
        );
        // rustfmt cannot wrap a long string: keep every line within its width.
        assert!(
            source.lines().all(|line| line.len() <= 100),
            "a line of the {name} quick start is over 100 characters"
        );
    }
}
