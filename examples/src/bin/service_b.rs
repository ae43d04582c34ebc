//! ServiceB: an echo service placed behind the gateway (port 8081, or `PORT`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    auth_examples::echo::serve("ServiceB", "service-b", 8081).await
}
