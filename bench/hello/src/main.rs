//! A bare axum "hello": the router and one static route, no layer. The ceiling
//! that bench/load.sh compares the generated service's routes with.
//!
//!     BIND_ADDR=127.0.0.1:18081 bench-hello

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:18081".to_owned());
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
