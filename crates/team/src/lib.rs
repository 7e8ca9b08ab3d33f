//! Team mode: the shared backends a team's servers use together, next to the embedded
//! store each server keeps.
//!
//! - [`doctor`]: connect to every configured backend and say how it is.
//! - [`influx`]: InfluxDB 1.x as a series log (line protocol over HTTP).
//! - [`bolt`]: the knowledge graph mirrored into a Bolt graph database, and walks over it
//!   in Cypher.
//! - [`cache`]: Redis as a shared cache of query results with versioned keys and pub/sub
//!   invalidation, and a shared rate limit.

pub mod bolt;
pub mod cache;
pub mod doctor;
pub mod influx;
