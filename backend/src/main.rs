//! `gpx_kafkaflink`: the Pipeline Health datasource backend.
//!
//! Started by Grafana, it prints the go-plugin handshake line and serves gRPC.
//! Started as `gpx_kafkaflink check ...`, it prints the pipeline's health and exits with it;
//! with any other argument it prints a usage and exits (3), never starting the server.

use clap::Parser;
use grafana_plugin_sdk::backend;
use pipeline_backend::{check, plugin};
use tracing_subscriber::{prelude::*, EnvFilter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Before tokio starts its threads.
    pipeline_backend::malloc_arenas::limit();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(pipeline_backend::BLOCKING_THREADS)
        .build()?
        .block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Grafana starts the plugin without arguments: any argument is a person at a terminal.
    let args: Vec<String> = std::env::args().skip(1).collect();
    match check::launch(&args) {
        check::Launch::Plugin => {}
        check::Launch::Check => {
            let args = check::CheckArgs::parse_from(args);
            std::process::exit(check::run(args).await);
        }
        check::Launch::Exit {
            code,
            stdout,
            stderr,
        } => {
            print!("{stdout}");
            eprint!("{stderr}");
            std::process::exit(code);
        }
    }
    // The handshake line must be the first thing on stdout; nothing may print before it.
    let listener = backend::initialize().await?;
    init_logging()?;
    plugin::serve(plugin::PipelinePlugin::new(), listener).await
}

/// Logs go to stderr in the format Grafana reads (hclog JSON), level from `RUST_LOG`.
fn init_logging() -> Result<(), Box<dyn std::error::Error>> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // The SDK's debug spans record whole requests, decrypted secureJsonData included:
        // never let them through, whatever RUST_LOG asks for.
        .add_directive("grafana_plugin_sdk=info".parse()?);
    tracing_subscriber::registry()
        .with(backend::layer())
        .with(filter)
        .try_init()?;
    Ok(())
}
