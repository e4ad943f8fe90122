//! Run with: `cargo run -p shop` (then open http://127.0.0.1:8080/api/docs)
//!
//! `shop --help` lists every setting.

use std::process::ExitCode;

use clap::Parser;
use shop::{Cli, Command, LogFormat, ShopConfig, StartError};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match ShopConfig::load(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("shop: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(config.log_format);
    if cli.action() == Command::CreateTables {
        return match shop::wiring::create_tables(&config).await {
            Ok(()) => {
                println!("storage for the {} profile is ready", config.profile.as_str());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("shop: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the shop stopped");
            eprintln!("shop: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: ShopConfig) -> Result<(), StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let notice = config.demo_admin_notice();
    let base = config.public_base_url.clone();
    let running = shop::start(config, listener).await?;
    println!("shopkit reference shop listening on {base}");
    println!("  storefront API: {base}/api/v1   back office: {base}/api/admin/v1");
    println!("  API docs:       {base}/api/docs");
    if let Some(notice) = notice {
        println!("  {notice}");
    }
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests and draining the outbox");
    running.shutdown().await.map_err(StartError::Serve)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}
