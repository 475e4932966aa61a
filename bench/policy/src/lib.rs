//! Benchmarks of rampart's policy engine, with the `cedar-policy` crate
//! deciding the same requests on the same policies in the same run.
//!
//! The policies are described once ([`fixture`]) and rendered into RAM
//! JSON ([`ram`]) and Cedar ([`cedar`]), one Cedar policy per RAM
//! statement; `tests/equivalence.rs` checks that both engines reach the
//! same decisions, statement by statement, so the comparison cannot
//! silently measure different work. See `bench/README.md` for how to run
//! the benchmarks and what they measured.

// Bench fixtures are constants: if one fails to parse or render, the
// benchmark itself is wrong and should stop loudly, so the library-code
// lints against unwrap/expect/panic/indexing do not apply here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod cedar;
pub mod fixture;
pub mod ram;
