//! `mosaic up --tls-cert --tls-key`: the same API over TLS.
#![allow(clippy::unwrap_used, missing_docs)]

use mosaic_runtime::embedded::{Embedded, EmbeddedOptions};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn the_embedded_platform_serves_over_tls_when_given_a_certificate() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem())?;
    std::fs::write(&key_path, cert.signing_key.serialize_pem())?;
    let options = EmbeddedOptions {
        tls: Some(mosaic_api::server::TlsFiles {
            cert: cert_path,
            key: key_path,
        }),
        ..EmbeddedOptions::new("127.0.0.1:0".parse()?, dir.path().join("data"))
    };
    let platform = Embedded::start(&mosaic::modules(), options).await?;
    let addr = platform.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(platform.serve(async {
        let _ = stopped.await;
    }));

    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://localhost:{}", addr.port()))?
        .tls_config(tls)?
        .connect()
        .await?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "mosaic.v1.RegistryService".into(),
        })
        .await?
        .into_inner()
        .status;
    assert_eq!(status, 1);

    // Plaintext is refused on a TLS port.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{}", addr.port()))?
        .connect()
        .await?;
    assert!(
        HealthClient::new(plain)
            .check(HealthCheckRequest {
                service: String::new()
            })
            .await
            .is_err()
    );

    let _ = stop.send(());
    task.await??;
    Ok(())
}
