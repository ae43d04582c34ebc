//! AppC: an echo service placed behind the gateway (port 8082, or `PORT`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    auth_examples::echo::serve("AppC", "app-c", 8082).await
}
