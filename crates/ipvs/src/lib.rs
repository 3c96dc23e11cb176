//! director-ipvs
