//! ServiceD: a service with its own QR + PIN login page, through auth-sdk's client (port 8083, or
//! `PORT`). Needs `SERVICE_D_API_KEY`; see `auth_examples::service_d` for the other settings.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    auth_examples::service_d::serve(8083).await
}
