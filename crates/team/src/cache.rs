//! Redis: a shared cache of query results, invalidated through pub/sub, and a shared
//! rate limit.
