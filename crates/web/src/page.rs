//! The page, its script and its styles, embedded in the binary (no CDN: the app works
//! offline).

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");

fn text(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body)
}

pub(crate) async fn index() -> impl IntoResponse {
    text("text/html; charset=utf-8", INDEX)
}

pub(crate) async fn script() -> impl IntoResponse {
    text("text/javascript; charset=utf-8", SCRIPT)
}

pub(crate) async fn style() -> impl IntoResponse {
    text("text/css; charset=utf-8", STYLE)
}
