//! Team mode: the shared backends a team's servers use together, next to the embedded
//! store each server keeps.
//!
//! - [`doctor`]: connect to every configured backend and say how it is.

pub mod doctor;
