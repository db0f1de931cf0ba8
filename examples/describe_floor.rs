//! Benchmark floor for `outbound plan`: the same Describe calls plan makes (one per managed
//! resource, read from a state file), issued back-to-back through the same SDK clients at the
//! same concurrency, with nothing else around them. Prints the wall time in seconds.
//!
//! cargo run --release --example describe_floor -- STATE_FILE PARALLELISM

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a measuring script: it prints its figures and stops on any error"
)]

use std::time::Instant;

use futures::stream::{self, StreamExt};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args[1])?)?;
    let parallelism: usize = args[2].parse()?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let events = aws_sdk_cloudwatchevents::Client::new(&config);
    let transfer = aws_sdk_transfer::Client::new(&config);
    let resources: Vec<(String, String)> = state["resources"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(address, r)| {
                    (
                        address.clone(),
                        r["id"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let started = Instant::now();
    let failures: usize = stream::iter(resources)
        .map(|(address, id)| {
            let (events, transfer) = (events.clone(), transfer.clone());
            async move {
                let ok = match address.split('/').next() {
                    Some("Connection") => {
                        events.describe_connection().name(id).send().await.is_ok()
                    }
                    Some("ApiDestination") => events
                        .describe_api_destination()
                        .name(id)
                        .send()
                        .await
                        .is_ok(),
                    _ => transfer
                        .describe_connector()
                        .connector_id(id)
                        .send()
                        .await
                        .is_ok(),
                };
                usize::from(!ok)
            }
        })
        .buffer_unordered(parallelism)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .sum();
    anyhow::ensure!(failures == 0, "{failures} describes failed");
    println!("{:.3}", started.elapsed().as_secs_f64());
    Ok(())
}
