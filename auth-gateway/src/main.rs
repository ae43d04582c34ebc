use clap::Parser;

// mimalloc instead of glibc's malloc: the request path allocates and frees many small buffers
// (headers, futures, log fields), and glibc's per-call cost showed as a tenth of the gateway's
// instructions; docs/BENCHMARKS.md has the before and after.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    auth_gateway::cli::run(auth_gateway::cli::Cli::parse())
}
