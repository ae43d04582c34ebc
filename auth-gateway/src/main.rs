use clap::Parser;

fn main() -> std::process::ExitCode {
    auth_gateway::cli::run(auth_gateway::cli::Cli::parse())
}
