//! Team mode: the shared backends a team's servers use together, next to the embedded
//! store each server keeps.
//!
//! - [`doctor`]: connect to every configured backend and say how it is.
//! - [`influx`]: InfluxDB 1.x as a series log (line protocol over HTTP).

pub mod doctor;
pub mod influx;
