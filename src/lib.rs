//! dealrules
pub mod diag;
pub mod syntax;
pub mod value;
