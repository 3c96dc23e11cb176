//! director-vrrp
