//! `standin-runpod [--port N] [--upstream URL] [--key KEY] [--fast]`: a stand-in RunPod for
//! driving the app by hand. Prints the environment variables that point the app at it.

use standin_runpod::{StandIn, StandInConfig, Timings};
use std::net::SocketAddr;
use std::sync::Arc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut config = StandInConfig {
        timings: Timings::demo(),
        ..StandInConfig::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("{name} needs a value");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--port" => {
                let port: u16 = value("--port").parse().unwrap_or_else(|_| {
                    eprintln!("--port needs a number");
                    std::process::exit(2)
                });
                config.bind = SocketAddr::from(([127, 0, 0, 1], port));
            }
            "--upstream" => {
                let url = url::Url::parse(&value("--upstream")).unwrap_or_else(|e| {
                    eprintln!("--upstream is not a URL: {e}");
                    std::process::exit(2)
                });
                config.upstream = Some(Arc::new(move |_pod: &str| Some(url.clone())));
            }
            "--key" => config.api_key = value("--key"),
            "--fast" => config.timings = Timings::fast(),
            other => {
                eprintln!(
                    "unknown argument {other}\nusage: standin-runpod [--port N] [--upstream URL] [--key KEY] [--fast]"
                );
                return std::process::ExitCode::from(2);
            }
        }
    }
    let standin = match StandIn::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("could not start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("STUDIO_RUNPOD_API_URL={}", standin.api_url());
    println!("STUDIO_POD_URL_TEMPLATE={}", standin.pod_url_template());
    println!("RUNPOD_API_KEY={}", standin.api_key());
    println!("billing: http://{}/_standin/billing", standin.addr());
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}
