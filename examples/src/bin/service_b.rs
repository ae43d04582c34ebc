//! ServiceB: an echo service placed behind the gateway (port 8081, or `PORT`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    auth_examples::serve("ServiceB", 8081).await
}
