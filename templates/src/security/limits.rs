//! Limits every request is held to, whatever features are on: the request
//! head ([`RequestHead`]: the headers' count and size, and a declared body
//! size), the body ([`BODY_LIMIT`]) and the time a request may take
//! ([`TimeoutLayer`]), all put around the routes by `security::wrap`.
//!
//! hyper's parser is configured (`security::connections`) to let through more
//! than these limits, so that the refusal is this application's: a problem
//! document with the security headers. What is beyond the parser's own limits
//! ([`PARSER_MAX_HEADERS`] headers, a head over about 400 KiB) or is not HTTP
//! (an invalid byte in a header, two different `Content-Length`s) can only be
//! refused by the parser: a bare 400 or 431 and the connection closed.
//!
//! Also [`CheckLayer`]: a check that answers some requests itself (the request
//! head here) and passes the others on. Unlike `axum::middleware::from_fn`, it
//! neither clones the layers beneath nor boxes a future per request, and these
//! checks run on every request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::HttpBody;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::error::ApiError;

/// Largest request body accepted, in bytes. Larger bodies get 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest a request may take before it is abandoned with 503. Also bounds how
/// long graceful shutdown can wait for in-flight requests.
///
/// 503, not 408: 408 says the *client* was too slow to send its request (RFC
/// 9110 §15.5.9), and clients may resend it at once; here the server was too
/// slow to answer, which is 503 (as a gateway would say 504).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The most bytes of request headers (names and values) accepted. Access tokens
/// are at most 8 KiB (`auth::bearer::MAX_TOKEN_BYTES`); 16 KiB leaves room for
/// the rest, like the defaults of common proxies (nginx: 8–32 KiB).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Decides, from the request alone, whether it goes on: `Err` is the answer.
pub trait Check: Clone {
    fn check(&self, request: &Request) -> Result<(), ApiError>;
}

/// Runs a [`Check`] before the layers beneath it.
#[derive(Clone, Copy, Debug)]
pub struct CheckLayer<C>(pub C);

impl<S, C: Check> Layer<S> for CheckLayer<C> {
    type Service = Checked<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Checked {
            inner,
            check: self.0.clone(),
        }
    }
}

/// The service of [`CheckLayer`].
#[derive(Clone, Debug)]
pub struct Checked<S, C> {
    inner: S,
    check: C,
}

impl<S, C> Service<Request> for Checked<S, C>
where
    S: Service<Request, Response = Response>,
    C: Check,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CheckedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.check.check(&request) {
            Ok(()) => CheckedFuture::Passed {
                future: self.inner.call(request),
            },
            Err(error) => CheckedFuture::Refused {
                response: Some(error.into_response()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Checked`]: the refusal, or what the layers beneath say.
    #[project = CheckedProjection]
    pub enum CheckedFuture<F> {
        Passed { #[pin] future: F },
        Refused { response: Option<Response> },
    }
}

impl<F, E> Future for CheckedFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CheckedProjection::Passed { future } => future.poll(cx),
            CheckedProjection::Refused { response } => {
                Poll::Ready(Ok(response.take().expect("a refusal is polled once")))
            }
        }
    }
}

/// The most header lines accepted (hyper's own default limit, now enforced
/// here so that the refusal carries a problem document).
pub const MAX_HEADERS: usize = 100;
/// The most header lines hyper's parser reads before it refuses by itself
/// (a bare 431). Above [`MAX_HEADERS`] so that the application answers first;
/// bounded because hyper allocates room for this many per request.
pub const PARSER_MAX_HEADERS: usize = 256;

/// Refuses a request from its head alone, before any handler runs and before
/// a byte of the body is read:
/// - 431 (RFC 6585) when it has more than [`MAX_HEADERS`] headers or more
///   than [`MAX_HEADER_BYTES`] of them;
/// - 413 when its `Content-Length` is above [`BODY_LIMIT`]: the body is never
///   read, so with `Expect: 100-continue` no `100 Continue` is sent either.
#[derive(Clone, Copy, Debug)]
pub struct RequestHead;

impl Check for RequestHead {
    fn check(&self, request: &Request) -> Result<(), ApiError> {
        let headers = request.headers();
        if headers.len() > MAX_HEADERS {
            return Err(ApiError::HeadersTooLarge);
        }
        let size: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        if size > MAX_HEADER_BYTES {
            return Err(ApiError::HeadersTooLarge);
        }
        // hyper's body knows its `Content-Length` (a chunked body's lower bound
        // is 0: it is limited while it is read).
        if request.body().size_hint().lower() > BODY_LIMIT as u64 {
            return Err(ApiError::PayloadTooLarge);
        }
        Ok(())
    }
}

/// Abandons requests that take longer than its limit ([`REQUEST_TIMEOUT`])
/// with a problem+json 503 (tower-http's `TimeoutLayer` would answer with an
/// empty body).
#[derive(Clone, Copy, Debug)]
pub struct TimeoutLayer(pub Duration);

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout {
            inner,
            limit: self.0,
        }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Clone, Debug)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S> Service<Request> for Timeout<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        TimeoutFuture {
            inner: tokio::time::timeout(self.limit, self.inner.call(request)),
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Timeout`].
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
    }
}

impl<F, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(|result| match result {
            Ok(response) => response,
            Err(_elapsed) => Ok(ApiError::ServiceUnavailable(
                "the request took too long".to_owned(),
            )
            .into_response()),
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn a_request_over_the_time_limit_gets_a_503_problem() {
        // A handler far slower than the limit; the limit is short so the test
        // is quick, and the margin (50 ms against 60 s) makes it deterministic.
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "done"
                }),
            )
            .layer(TimeoutLayer(Duration::from_millis(50)));
        let request = axum::http::Request::get("/slow")
            .body(axum::body::Body::empty())
            .unwrap();

        let response = app.oneshot(request).await.unwrap();

        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[axum::http::header::CONTENT_TYPE],
            crate::error::PROBLEM_JSON
        );
    }

    #[tokio::test]
    async fn a_refused_check_answers_without_reaching_the_route() {
        let app = Router::new()
            .route("/", get(|| async { "reached" }))
            .layer(CheckLayer(RequestHead));
        let request = axum::http::Request::get("/")
            .header("x-large", "a".repeat(MAX_HEADER_BYTES))
            .body(axum::body::Body::empty())
            .unwrap();

        let response = app.oneshot(request).await.unwrap();

        assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }
}
