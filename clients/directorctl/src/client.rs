//! The connection to the daemon, with the bearer token on every call.

use crate::cli::Global;
use crate::failure::Failure;
use crate::proto::director_client::DirectorClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

/// The largest answer read (a long list of virtual servers with their real servers).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

pub type Client = DirectorClient<InterceptedService<Channel, Bearer>>;

/// `HOST:PORT` gets `http://` in front, or `https://` with `tls`.
pub fn endpoint_url(server: &str, tls: bool) -> String {
    if server.contains("://") {
        server.to_string()
    } else if tls {
        format!("https://{server}")
    } else {
        format!("http://{server}")
    }
}

/// The TLS of the connection: the CA of --ca, or the system's (webpki's) roots.
fn tls_config(global: &Global) -> Result<ClientTlsConfig, Failure> {
    let config = ClientTlsConfig::new();
    Ok(match &global.ca {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| Failure::Usage(format!("--ca {}: {e}", path.display())))?;
            config.ca_certificate(Certificate::from_pem(pem))
        }
        None => config.with_webpki_roots(),
    })
}

pub async fn connect(global: &Global) -> Result<Client, Failure> {
    let tls = global.tls || global.ca.is_some();
    let url = endpoint_url(&global.server, tls);
    if url.starts_with("http://") && tls {
        return Err(Failure::Usage(format!(
            "--server {:?} says http://, but --tls or --ca asks for TLS: write https://",
            global.server
        )));
    }
    let bearer = match global.token.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(token) => Some(format!("Bearer {token}").parse().map_err(|_| {
            Failure::Usage("the token has characters a header cannot carry".into())
        })?),
    };
    let mut endpoint = Endpoint::from_shared(url.clone())
        .map_err(|e| Failure::Usage(format!("--server {:?}: {e}", global.server)))?
        .connect_timeout(global.connect_timeout)
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        endpoint = endpoint
            .tls_config(tls_config(global)?)
            .map_err(|e| Failure::Usage(format!("TLS: {}", error_chain(&e))))?;
    }
    let channel = endpoint.connect().await.map_err(|e| Failure::Connect {
        server: url,
        message: error_chain(&e),
    })?;
    Ok(DirectorClient::with_interceptor(channel, Bearer(bearer))
        .max_decoding_message_size(MAX_RESPONSE_BYTES))
}

/// An error with its sources: "transport error: tcp connect error: Connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        // Layers often repeat their source's words; say each once.
        if !text.ends_with(&part) && !text.ends_with(&format!("{part}: ")) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_addresses_get_a_scheme() {
        assert_eq!(
            endpoint_url("10.0.0.1:50051", false),
            "http://10.0.0.1:50051"
        );
        assert_eq!(
            endpoint_url("10.0.0.1:50051", true),
            "https://10.0.0.1:50051"
        );
        assert_eq!(endpoint_url("https://lb:443", false), "https://lb:443");
    }
}
