//! The binary's edge: arguments in, exit code out.

use std::process::ExitCode;

use outbound::cli::Cli;
use outbound::{commands, render};

fn main() -> ExitCode {
    // Usage errors exit 1 (SPEC §2), not clap's 2, which means "changes present" here;
    // `--help` and `--version` print to stdout and exit 0.
    let cli = match Cli::read(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                usage_error_on_stdout(&e);
                ExitCode::from(commands::Outcome::Failed.exit_code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if cli.global.no_color {
        anstream::ColorChoice::Never.write_global();
    }
    init_logging(cli.global.verbose);
    match commands::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        // Printed already, where it was found.
        Err(err) if err.is::<commands::context::Reported>() => {
            ExitCode::from(commands::Outcome::Failed.exit_code())
        }
        Err(err) => {
            render::error(&err);
            ExitCode::from(commands::Outcome::Failed.exit_code())
        }
    }
}

/// A usage error of `plan` or `drift` whose arguments ask for Markdown or JSON is also
/// rendered on stdout, as the command's other failures are: a bot posting stdout never posts
/// an empty comment. The arguments could not be parsed, so they are read as far as they go.
fn usage_error_on_stdout(e: &clap::Error) {
    use render::failure::{self, Failure};
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.iter().find(|a| *a == "plan" || *a == "drift") else {
        return;
    };
    let format = args
        .windows(2)
        .find(|w| w[0] == "--format")
        .map(|w| w[1].as_str())
        .or_else(|| args.iter().find_map(|a| a.strip_prefix("--format=")));
    let first = e.render().to_string();
    let first = first.lines().next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    let failure = Failure::error(&anyhow::anyhow!(message), None);
    match format {
        Some("markdown") => render::out(&failure::markdown(command, &failure)),
        Some("json") => render::out(&failure::json(&failure)),
        _ => {}
    }
}

/// Logs go to stderr; `-v` raises the level, `OUTBOUND_LOG` (an env-filter) overrides it.
/// Whatever the filter says, the trace events of the AWS SDK and its HTTP stack are never
/// written (see [`prints_bodies`]).
fn init_logging(verbose: u8) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, filter::FilterExt};
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OUTBOUND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("outbound={level}")));
    let no_bodies = tracing_subscriber::filter::filter_fn(|meta| !prints_bodies(meta));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(
                    anstream::AutoStream::choice(&std::io::stderr())
                        != anstream::ColorChoice::Never,
                )
                .with_filter(filter.and(no_bodies)),
        )
        .init();
}

/// Trace events (and spans) of the AWS SDK and the HTTP stack print whole requests, bodies
/// included: `aws_smithy_runtime`'s "transmitting request" always does, and `aws_sigv4`'s
/// "signing request" does when `LOG_SIGNABLE_BODY=true` (an opt-in of the SDK). A request
/// body carries a connection's secrets, which never appear in outbound's output, so these
/// are dropped, whatever `OUTBOUND_LOG` enables. (The variable itself cannot be removed from
/// the environment: `std::env::remove_var` is unsafe, and the crate forbids unsafe code.)
fn prints_bodies(meta: &tracing::Metadata<'_>) -> bool {
    const SDK: [&str; 4] = ["aws_", "hyper", "h2", "http_body"];
    *meta.level() == tracing::Level::TRACE && SDK.iter().any(|t| meta.target().starts_with(t))
}
