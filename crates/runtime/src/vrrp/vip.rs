//! Adding and removing an instance's virtual addresses through the blocking [`VipBinder`] (marked as
//! director's: only ours are ever removed).

use director_ipvs::VipBinder;
use std::net::IpAddr;

/// The result for each address: `Ok(true)` changed, `Ok(false)` already so, `Err` why not.
pub type Outcome = Vec<(IpAddr, Result<bool, String>)>;

pub async fn add(interface: &str, addresses: &[IpAddr]) -> Outcome {
    run(interface, addresses, true).await
}

pub async fn remove(interface: &str, addresses: &[IpAddr]) -> Outcome {
    run(interface, addresses, false).await
}

async fn run(interface: &str, addresses: &[IpAddr], add: bool) -> Outcome {
    if addresses.is_empty() {
        return Vec::new();
    }
    let interface = interface.to_string();
    let addresses = addresses.to_vec();
    let fallback = addresses.clone();
    tokio::task::spawn_blocking(move || {
        let binder = match VipBinder::connect() {
            Ok(b) => b,
            Err(e) => {
                return addresses.iter().map(|a| (*a, Err(e.to_string()))).collect();
            }
        };
        addresses
            .iter()
            .map(|a| {
                let r = if add {
                    binder.add(&interface, *a)
                } else {
                    binder.remove(&interface, *a)
                };
                (*a, r.map_err(|e| e.to_string()))
            })
            .collect()
    })
    .await
    .unwrap_or_else(|e| {
        fallback
            .into_iter()
            .map(|a| (a, Err(format!("VIP task failed: {e}"))))
            .collect()
    })
}
