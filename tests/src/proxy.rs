//! A TCP link between two daemons that a test can cut and heal: the network partition of the sync suite,
//! on loopback.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Default)]
struct State {
    /// The port connections are forwarded to (0: none yet).
    target: AtomicU16,
    open: AtomicBool,
    connections: Mutex<Vec<AbortHandle>>,
}

/// One direction of the path from a node to a peer: the node connects to `port`, the link forwards to the
/// peer's gRPC port.
pub struct Link {
    pub port: u16,
    state: Arc<State>,
    accept: AbortHandle,
}

impl Link {
    pub async fn start() -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind link");
        let port = listener.local_addr().expect("link address").port();
        let state = Arc::new(State {
            open: AtomicBool::new(true),
            ..Default::default()
        });
        let s = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                let target = s.target.load(Ordering::SeqCst);
                if !s.open.load(Ordering::SeqCst) || target == 0 {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    let mut inbound = inbound;
                    let addr = SocketAddr::from(([127, 0, 0, 1], target));
                    if let Ok(mut outbound) = TcpStream::connect(addr).await {
                        let _ = inbound.set_nodelay(true);
                        let _ = outbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut conns = s.connections.lock().expect("links");
                conns.retain(|c| !c.is_finished());
                conns.push(task.abort_handle());
            }
        })
        .abort_handle();
        Link {
            port,
            state,
            accept,
        }
    }

    /// Forwards new connections to `port` (after a restart of the peer, for example).
    pub fn connect_to(&self, port: u16) {
        self.state.target.store(port, Ordering::SeqCst);
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.state.open.store(false, Ordering::SeqCst);
        for c in self.state.connections.lock().expect("links").drain(..) {
            c.abort();
        }
    }

    pub fn heal(&self) {
        self.state.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
