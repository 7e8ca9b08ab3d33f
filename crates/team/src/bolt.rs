//! The knowledge graph mirrored into a Bolt graph database (Neo4j 5, FalkorDB).
