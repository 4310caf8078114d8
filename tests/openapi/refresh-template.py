#!/usr/bin/env python3
"""Writes templates/openapi.json.jinja, the `openapi.json` that `nestflux new`
commits in every generated project, from the document a generated project
with every feature prints (`<binary> openapi`).

`new` cannot compile the project to ask it, so the document is a template:
the parts that only some features have are wrapped in `{% if %}`, and every
build-matrix variant's own test (`the_committed_openapi_json_is_current`)
proves the rendered file equal to what its code prints. After changing the
API of the templates:

    NESTFLUX_MATRIX=keycloak-sqlite-all cargo test --locked --test generated_projects
    target/generated-projects/keycloak-sqlite-all: cargo run -q -- openapi > /tmp/all.json
    python3 tests/openapi/refresh-template.py /tmp/all.json

then run the matrix: a variant whose features this script does not know
about fails its own test.

The resources' paths and schemas (`items` and those of `add resource`) are
left out: nestflux adds them per project (src/resource/openapi.rs).
"""

import json
import sys
from pathlib import Path

# The project name of the keycloak-sqlite-all variant, put back as a variable.
NAME = "zulu-shop-with-the-longest-nam"
# Also accepted: the name of a copy made by hand under another name.
OTHER_NAMES = {"oa-all"}
# The schemas only the session routes use.
SESSION_SCHEMAS = {"LoggedOut", "LogoutRefused", "LogoutToken"}


def condition(path, key):
    """The feature a member of the object at `path` depends on, if any."""
    if len(path) >= 1 and path[-1] == "responses" and key == "429":
        return "features.rate_limit"
    if path == ("paths",) and key.startswith("/auth/"):
        return "features.session"
    if path == ("components", "schemas") and key in SESSION_SCHEMAS:
        return "features.session"
    # Without sessions there is no anti-CSRF 403 on routes any caller may use.
    if path == ("paths", "/api/me", "get", "responses") and key == "403":
        return "features.session"
    return None


def dump(value, indent, path, out):
    """serde_json's pretty printing (two spaces), with the conditions."""
    pad = "  " * indent
    if isinstance(value, dict) and value:
        out.append("{\n")
        items = list(value.items())
        for index, (key, member) in enumerate(items):
            last = index == len(items) - 1
            when = condition(path, key)
            if when and last:
                sys.exit(f"{'/'.join(path)}/{key}: a conditional member must not be the last")
            if when:
                out.append(f"{{% if {when} %}}\n")
            out.append(f"{pad}  {json.dumps(key, ensure_ascii=False)}: ")
            dump(member, indent + 1, path + (key,), out)
            out.append("\n" if last else ",\n")
            if when:
                out.append("{% endif %}\n")
        out.append(f"{pad}}}")
    elif isinstance(value, list) and value:
        out.append("[\n")
        for index, member in enumerate(value):
            out.append(f"{pad}  ")
            dump(member, indent + 1, path + (str(index),), out)
            out.append("\n" if index == len(value) - 1 else ",\n")
        out.append(f"{pad}]")
    else:
        text = json.dumps(value, ensure_ascii=False)
        if isinstance(value, str) and (value == NAME or value in OTHER_NAMES):
            text = '"{{ project.name }}"'
        elif "{{" in text or "{%" in text:
            sys.exit(f"{text}: would be read as a template")
        out.append(text)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    document = json.loads(Path(sys.argv[1]).read_text())
    resources = [p[len("/api/"):] for p in document["paths"]
                 if p.startswith("/api/") and p != "/api/me" and "{" not in p]
    for name in resources:
        del document["paths"][f"/api/{name}"]
        del document["paths"][f"/api/{name}/{{id}}"]
        type_name = "".join(part.capitalize() for part in name.split("_"))
        for suffix in ("List", "Record", "Request"):
            del document["components"]["schemas"][type_name + suffix]
    out = []
    dump(document, 0, (), out)
    out.append("\n")
    target = Path(__file__).resolve().parents[2] / "templates/openapi.json.jinja"
    target.write_text("".join(out))
    print(f"wrote {target}")


main()
