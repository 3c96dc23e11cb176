//! director-keepalived
