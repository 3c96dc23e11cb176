//! director-reconcile
