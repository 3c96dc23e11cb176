//! director-health
