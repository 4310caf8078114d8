//! A browser's side of the session cookies, for the session tests: what a
//! response sets, and a jar that sends them back.

use std::collections::BTreeMap;

use reqwest::{RequestBuilder, Response, header};

/// One `Set-Cookie` header: the cookie and its attributes, as sent.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// `Name` or `Name=value`, in the order sent.
    pub attributes: Vec<String>,
}

impl SetCookie {
    pub fn parse(header: &str) -> Self {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .unwrap_or_else(|| panic!("`{header}` does not start with name=value"));
        Self {
            name: name.to_owned(),
            value: value.to_owned(),
            attributes: parts
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// The value of the attribute `name` (case-insensitive); `Some("")` for a
    /// flag such as `HttpOnly`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find_map(|attribute| {
            let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
            key.eq_ignore_ascii_case(name).then_some(value)
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }

    /// Whether it deletes the cookie (`Max-Age=0`).
    pub fn clears(&self) -> bool {
        self.attribute("Max-Age") == Some("0")
    }
}

/// The cookies `response` sets, in order.
pub fn set_cookies(response: &Response) -> Vec<SetCookie> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| SetCookie::parse(value.to_str().expect("an ASCII Set-Cookie header")))
        .collect()
}

/// The cookie `name` set by `response`, failing the test when there is none.
pub fn set_cookie(response: &Response, name: &str) -> SetCookie {
    set_cookies(response)
        .into_iter()
        .find(|cookie| cookie.name == name)
        .unwrap_or_else(|| panic!("no Set-Cookie for `{name}` in {:?}", response.headers()))
}

/// The cookies a browser keeps for the application, carried by hand: the
/// test clients have no cookie store, so tests see and choose every cookie
/// sent. `Set-Cookie` stores a cookie, `Max-Age=0` removes it; other
/// attributes are the tests' to check.
#[derive(Debug, Clone, Default)]
pub struct CookieJar(BTreeMap<String, String>);

impl CookieJar {
    /// Keeps what `response` sets.
    pub fn store(&mut self, response: &Response) {
        for cookie in set_cookies(response) {
            if cookie.clears() {
                self.0.remove(&cookie.name);
            } else {
                self.0.insert(cookie.name, cookie.value);
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    /// The `Cookie` header that sends them all; `None` when there are none.
    pub fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// `builder` with the jar's cookies.
    pub fn attach(&self, builder: RequestBuilder) -> RequestBuilder {
        match self.header() {
            Some(cookies) => builder.header(header::COOKIE, cookies),
            None => builder,
        }
    }
}

/// A client that follows no redirect (as `fetch` with `redirect: "manual"`)
/// and keeps no cookies: the tests follow each step of a login themselves.
pub fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}
