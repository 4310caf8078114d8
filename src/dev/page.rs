//! The provider's few HTML pages: its home (who can sign in, who is signed
//! in), the sign-in page where a person picks a test user, and messages.
//! Rendered with minijinja, which escapes every value in `.html` templates.

use minijinja::{Environment, Value};

const LAYOUT: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · nestflux dev</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.banner { background: #fff3cd; border: 2px solid #e0a800; padding: .6rem 1rem; border-radius: 6px; font-weight: 600; }
button { font: inherit; padding: .4rem .9rem; margin: .2rem 0; cursor: pointer; }
.users button { display: block; width: 100%; text-align: left; }
code { background: #f3f3f3; padding: 0 .25rem; border-radius: 3px; }
table { border-collapse: collapse; } td, th { text-align: left; padding: .2rem .8rem .2rem 0; }
.muted { color: #666; }
</style>
</head>
<body>
<p class="banner">Development only: this identity provider signs a token for anyone on this machine. Never expose it, never use it in production.</p>
{% block body %}{% endblock %}
</body>
</html>
"#;

const LOGIN: &str = r#"{% extends "layout.html" %}
{% block title %}Sign in to {{ project }}{% endblock %}
{% block body %}
<h1>Sign in to {{ project }}</h1>
<p>The client <code>{{ client_id }}</code> asks you to sign in. Pick a test user (one per role of <code>config/rbac.toml</code>):</p>
<form method="post" action="{{ action }}" class="users">
<input type="hidden" name="ticket" value="{{ ticket }}">
{% for user in users %}
<button type="submit" name="user" value="{{ user.username }}">{{ user.username }} <span class="muted">— role {{ user.role }}</span></button>
{% else %}
<p>The policy has no roles, so there is no test user.</p>
{% endfor %}
<button type="submit" name="cancel" value="1">Cancel</button>
</form>
{% endblock %}
"#;

const HOME: &str = r#"{% extends "layout.html" %}
{% block title %}{{ project }}{% endblock %}
{% block body %}
<h1>nestflux dev: {{ project }}</h1>
<p>A development identity provider shaped like {{ shape }}, serving the issuer <code>{{ issuer }}</code>
(<a href="{{ discovery }}">discovery</a>).</p>
<h2>Test users</h2>
<table>
<tr><th>user</th><th>role</th><th>password grant</th></tr>
{% for user in users %}
<tr><td><code>{{ user.username }}</code></td><td>{{ user.role }}</td>
<td>{% if user.has_password %}<code>{{ user.password_var }}</code> in .env{% else %}<span class="muted">no <code>{{ user.password_var }}</code> in .env</span>{% endif %}</td></tr>
{% endfor %}
</table>
<p>A token for a role: <code>nestflux dev token {{ example_role }}</code></p>
{% if sessions_enabled %}
<h2>Signed in</h2>
{% for session in sessions %}
<form method="post" action="{{ sign_out }}">
<input type="hidden" name="sid" value="{{ session.sid }}">
<code>{{ session.username }}</code> through <code>{{ session.client_id }}</code>
<button type="submit">Sign out</button> <span class="muted">(ends the session here and tells the service: back-channel logout)</span>
</form>
{% else %}
<p class="muted">Nobody.</p>
{% endfor %}
{% endif %}
{% endblock %}
"#;

const MESSAGE: &str = r#"{% extends "layout.html" %}
{% block title %}{{ title }}{% endblock %}
{% block body %}
<h1>{{ title }}</h1>
<p>{{ text }}</p>
{% endblock %}
"#;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", LAYOUT),
        ("login.html", LOGIN),
        ("home.html", HOME),
        ("message.html", MESSAGE),
    ] {
        env.add_template(name, source)
            .expect("the provider's pages are valid templates");
    }
    env
}

/// A page, with every value HTML-escaped.
pub fn render(name: &str, context: Value) -> String {
    environment()
        .get_template(name)
        .and_then(|template| template.render(context))
        .unwrap_or_else(|error| format!("cannot render {name}: {error}"))
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    #[test]
    fn the_sign_in_page_escapes_what_the_client_sent() {
        let html = render(
            "login.html",
            context! {
                project => "shop",
                client_id => "<script>alert(1)</script>",
                action => "/auth",
                ticket => "t\"x",
                users => vec![context! { username => "test-editor", role => "editor" }],
            },
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains(r#"value="t&quot;x""#), "{html}");
        assert!(
            html.contains(r#"name="user" value="test-editor""#),
            "{html}"
        );
        assert!(html.contains("Development only"), "{html}");
    }
}
