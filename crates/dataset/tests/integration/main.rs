//! Integration tests of the dataset crate, one binary.
#![allow(clippy::unwrap_used)] // a panic in a test helper is a failed test

mod cache;
mod collection;
mod eda;
mod index;
mod splits;
mod validation;
