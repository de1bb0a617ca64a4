"""Serving a team: a real `qa serve` bound beyond loopback with a users file, reached by real clients
(httpx for the HTTP API, Chromium for the page, gradio_client for Gradio's API) as strangers, as a
read-only user and as a writer. Nothing of the documents may be reachable without a login."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import importlib.util
import json
import re
import stat
import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import copy_seeds_and_index, run_qa
from tests.integration.test_ui import ServerProcess

# Words only the documents hold: none may appear in any answer given without a login.
DOCUMENT_TEXT = ["fists clash", "Stoltenberg", "Halvorsen", "Thomas Quayle"]
PASSWORDS = {"alice": "alice-writes-1", "bob": "bob-reads-22", "carol": "carol-locks-333"}
NATO = "Who is the NATO Secretary General?"
# MCP at /mcp comes with the mcp extra and qa.ui.agent_tools: when both are here, the server runs with --mcp
# and every check below covers /mcp too.
MCP = importlib.util.find_spec("mcp") is not None and importlib.util.find_spec("qa.ui.agent_tools") is not None
STATION = "Who founded the Aurora research station?"


def _basic(name: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def team(seeds_dir, index_dir, tmp_path_factory):
    """`qa serve --host 0.0.0.0 --users FILE` over a private copy of the seeds and index; alice writes, bob and carol read."""
    from qa.users import Users

    root = tmp_path_factory.mktemp("team")
    seeds, index = copy_seeds_and_index(seeds_dir, index_dir, root)
    users_file = root / "users.json"
    made = run_qa("users", "add", "alice", "--role", "write", "--users", str(users_file), env={"QA_NEW_PASSWORD": PASSWORDS["alice"]})
    assert made.returncode == 0 and "added alice (write)" in made.stdout, made.stderr
    token = run_qa("users", "token", "alice", "--users", str(users_file))
    assert token.returncode == 0, token.stderr
    users = Users(users_file)
    users.add("bob", PASSWORDS["bob"], "read")
    users.add("carol", PASSWORDS["carol"], "read")
    args = ("--host", "0.0.0.0", "--users", str(users_file), *(["--mcp"] if MCP else []))
    server = ServerProcess(seeds, index, root / "server.log", args=args)
    server.users_file, server.seeds, server.index = users_file, seeds, index
    server.tokens = {"alice": token.stdout.strip(), "bob": users.new_token("bob")}
    yield server
    server.stop()


def _auth(team, name: str) -> dict:
    return {"Authorization": f"Bearer {team.tokens[name]}"}


def test_users_file_keeps_only_hashes_with_mode_0600(team):
    text = team.users_file.read_text(encoding="utf-8")
    assert stat.S_IMODE(team.users_file.stat().st_mode) == 0o600
    for password in PASSWORDS.values():
        assert password not in text
    for token in team.tokens.values():
        assert token not in text
    assert json.loads(text)["users"]["alice"]["password"].startswith("$argon2id$")
    listed = run_qa("users", "list", env={"QA_USERS": str(team.users_file)})
    assert listed.stdout.split() == ["alice", "write", "bob", "read", "carol", "read"]


def test_a_removed_user_is_locked_out_of_the_running_server(team):
    from qa.users import Users

    users = Users(team.users_file)
    users.add("dave", "dave-leaves-4444", "read")
    token = users.new_token("dave")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(team.url + "api/documents", headers=headers, timeout=60).status_code == 200
    removed = run_qa("users", "remove", "dave", "--users", str(team.users_file))
    assert removed.returncode == 0 and "removed dave" in removed.stdout
    assert httpx.get(team.url + "api/documents", headers=headers, timeout=60).status_code == 401  # no restart needed


def test_refuses_to_serve_beyond_loopback_without_logins(tmp_path):
    for args in (["--host", "0.0.0.0"], ["--share"]):
        out = run_qa("serve", "--seeds", str(tmp_path), "--index", str(tmp_path / "index"), *args)
        assert out.returncode == 2
        assert "without logins" in out.stderr and "qa users add" in out.stderr and "--no-auth" in out.stderr, out.stderr


def _routes(team, pipeline) -> list[tuple[str, str]]:
    """Every (method, path) the server's app routes, found by building the same app in this process."""
    from starlette.routing import Mount

    from qa.ui.app import Server, build_app
    from qa.ui.server import build_server_app
    from qa.users import Users

    server = Server(pipeline)
    blocks = build_app(server)
    blocks.queue()
    app = build_server_app(server, blocks, Users(team.users_file), mcp=MCP)
    found: list[tuple[str, str]] = []

    def walk(routes, prefix: str) -> None:
        for r in routes:
            if isinstance(r, Mount):
                walk(r.routes, prefix + r.path)
            elif hasattr(r, "original_router"):  # FastAPI >= 0.16x keeps an included router whole
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            else:
                path = re.sub(r"\{[^}]+\}", "x", prefix + getattr(r, "path", ""))
                for method in sorted(getattr(r, "methods", None) or {"GET"}):
                    found.append((method, path))

    walk(app.routes, "")
    return sorted(set(found))


def test_no_route_gives_document_text_without_a_login(team, pipeline):
    """Enumerates the app's routes (so a route added later is checked too): each one, asked by a
    stranger, is refused with 401, except the login page's own assets, which hold no document text."""
    from qa.ui.server import PUBLIC_EXACT, PUBLIC_PREFIXES

    routes = _routes(team, pipeline)
    paths = {p for _, p in routes}
    assert {"/api/ask", "/api/documents", "/api/rebuild", "/api/docs", "/api/openapi.json", "/config", "/login"} <= paths
    assert any(p.startswith("/gradio_api/file=") for p in paths) and "/gradio_api/queue/join" in paths
    seed_doc = str((team.seeds / "nato-russia-council.txt").resolve())
    extra = [("GET", f"/gradio_api/file={seed_doc}"), ("GET", "/mcp"), ("POST", "/mcp/"), ("GET", "/gradio_api/info"), ("GET", "/nothing")]
    public = []
    with httpx.Client(base_url=team.url, timeout=60) as client:
        for method, path in [*routes, *extra]:
            body = {"json": {"question": NATO, "data": [NATO, 5]}} if method in ("POST", "PUT", "PATCH") else {}
            r = client.request(method, path, **body)
            text = r.text
            assert not any(words in text for words in DOCUMENT_TEXT), f"{method} {path} gave document text: {text[:200]}"
            if method in ("GET", "HEAD") and (path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)):
                public.append(path)
                continue
            if path in ("/login", "/login/") and method == "POST":
                assert r.status_code in (400, 422), (path, r.status_code)  # no credentials in that body: not a login
                continue
            assert r.status_code == 401, f"{method} {path} answered {r.status_code} without a login: {text[:200]}"
            if path.startswith(("/api", "/mcp")) and method != "HEAD":
                assert "error" in r.json()
    assert "/" in public and "/config" in public
    page = httpx.get(team.url, timeout=60).text
    assert "Stoltenberg" not in page and "What did Sherman say?" not in page  # no component config before a login
    with httpx.Client(base_url=team.url, timeout=60) as client:  # the same routes open to a login
        assert client.get("/api/documents", headers=_auth(team, "bob")).status_code == 200
        assert client.get("/api/openapi.json", headers=_auth(team, "bob")).json()["paths"].keys() >= {"/api/ask", "/api/rebuild"}


def test_http_api_answers_and_every_error_status(team):
    with httpx.Client(base_url=team.url, timeout=120) as client:
        r = client.post("/api/ask", json={"question": NATO, "top_k": 5}, headers=_auth(team, "bob"))
        assert r.status_code == 200
        cli = run_qa("ask", NATO, "--json", "--top-k", "5", "--index", str(team.index))
        assert r.json() == json.loads(cli.stdout)  # exactly the `qa ask --json` object
        docs = client.get("/api/documents", headers=_auth(team, "bob")).json()
        assert "nato-russia-council.txt" in [d["name"] for d in docs["documents"]]

        def status(method: str, path: str, **kw) -> tuple[int, str]:
            r = client.request(method, path, **kw)
            return r.status_code, r.json()["error"]

        bob = _auth(team, "bob")
        assert status("POST", "/api/ask", json={"question": "?!?"}, headers=bob) == (400, "the question has no letters or digits")
        assert status("POST", "/api/ask", json={"question": ""}, headers=bob)[0] == 400
        assert status("POST", "/api/ask", json={"question": "x" * 2001}, headers=bob)[0] == 400  # questions are bounded
        assert status("POST", "/api/ask", json={"question": NATO, "top_k": 0}, headers=bob)[0] == 400
        assert status("POST", "/api/ask", content=b"{not json", headers={**bob, "content-type": "application/json"})[0] == 400
        assert status("POST", "/api/ask", json={"question": NATO, "history": "no"}, headers=bob)[0] == 400
        code, message = status("POST", "/api/ask", json={"question": NATO})
        assert code == 401 and "Bearer" in message
        assert status("POST", "/api/ask", json={"question": NATO}, headers={"Authorization": "Bearer not-a-token"})[0] == 401
        code, message = status("POST", "/api/rebuild", headers=bob)
        assert code == 403 and "write role" in message
        code, message = status("POST", "/api/ask", content=b'{"question": "' + b"a" * 1_100_000 + b'"}', headers=bob)
        assert code == 413 and "bytes" in message
        rebuilt = client.post("/api/rebuild", headers=_auth(team, "alice"))
        assert rebuilt.status_code == 200 and rebuilt.json()["summary"].startswith("Rebuilt:")


def test_wrong_passwords_get_401_then_the_name_is_locked(team):
    """Five wrong passwords for carol: 401 each, then 429 with Retry-After, even for her right password;
    other names from the same address still log in (the address limit is higher)."""
    with httpx.Client(base_url=team.url, timeout=60) as client:
        for _ in range(5):
            r = client.get("/api/documents", headers=_basic("carol", "wrong-password"))
            assert r.status_code == 401 and r.json()["error"] == "wrong user name or password"
        locked = client.get("/api/documents", headers=_basic("carol", PASSWORDS["carol"]))
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0 and "try again" in locked.json()["error"]
        assert client.get("/api/documents", headers=_basic("bob", PASSWORDS["bob"])).status_code == 200


def test_two_users_ask_at_the_same_time(team):
    results: dict[str, list] = {"alice": [], "bob": []}
    questions = {"alice": NATO, "bob": STATION}

    def asker(name: str) -> None:
        with httpx.Client(base_url=team.url, timeout=300) as client:
            for _ in range(3):
                r = client.post("/api/ask", json={"question": questions[name]}, headers=_auth(team, name))
                results[name].append((r.status_code, r.json()))

    threads = [threading.Thread(target=asker, args=(n,)) for n in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    for name, got in results.items():
        assert len(got) == 3 and all(code == 200 and obj["question"] == questions[name] for code, obj in got), got
    assert all("Stoltenberg" in obj["answers"][0]["text"] for _, obj in results["alice"])
    assert all("Halvorsen" in obj["answers"][0]["text"] for _, obj in results["bob"])


def _login(page, name: str, password: str) -> None:
    page.fill("input[type=password]", password)
    page.locator("input:not([type=password])").first.fill(name)
    page.get_by_role("button", name="Login").click()


def test_browser_must_log_in_and_a_reader_cannot_rebuild(team, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(team.url, timeout=120_000)
    page.wait_for_selector("input[type=password]", timeout=120_000)
    assert page.locator("#question").count() == 0
    assert not any(words in page.content() for words in DOCUMENT_TEXT)
    _login(page, "bob", "not-his-password")
    page.get_by_text(re.compile("incorrect credentials", re.I)).wait_for(timeout=60_000)
    assert page.locator("#question").count() == 0
    _login(page, "bob", PASSWORDS["bob"])
    page.wait_for_selector("#question textarea", timeout=120_000)
    page.fill("#question textarea", NATO)
    page.press("#question textarea", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=bot]').length >= 1", timeout=120_000)
    assert "Stoltenberg" in page.locator("#chat [data-testid=bot]").last.inner_text()
    page.click("#rebuild")
    page.get_by_text("has the read role").first.wait_for(timeout=60_000)
    # the page's login cookie opens /api's reading routes; a change needs a token (no cross-site form can send one)
    assert page.request.get(team.url + "api/documents").status == 200
    assert page.request.post(team.url + "api/ask", data={"question": NATO}).status == 401
    context.close()


def test_gradio_api_needs_a_login_and_the_write_role(team):
    from gradio_client import Client

    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error types for a refused connection
        Client(team.url, verbose=False)
    bob = Client(team.url, auth=("bob", PASSWORDS["bob"]), verbose=False)
    assert bob.predict(NATO, 5, api_name="/ask")["question"] == NATO
    with pytest.raises(Exception, match="read role"):
        bob.predict(api_name="/rebuild")


def test_without_an_index_the_api_says_503_and_no_auth_warns(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    server = ServerProcess(seeds, tmp_path / "index", tmp_path / "server.log", args=("--host", "0.0.0.0", "--no-auth"))
    try:
        assert "WITHOUT logins (--no-auth)" in Path(server.log).read_text()
        r = httpx.post(server.url + "api/ask", json={"question": NATO}, timeout=60)
        assert r.status_code == 503 and "index" in r.json()["error"]
        assert httpx.get(server.url + "api/documents", timeout=60).status_code == 503
    finally:
        server.stop()


@pytest.mark.skipif(not MCP, reason="MCP needs the mcp extra and qa.ui.agent_tools")
def test_mcp_takes_the_same_tokens(team):
    """A real MCP client over streamable HTTP at `qa serve --mcp`'s /mcp: a user's token lists the tools and
    asks, the answer a verbatim span at its offsets in the seed file; a wrong token gets 401."""
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def ask(token: str) -> tuple[set[str], dict]:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
            async with streamable_http_client(team.url + "mcp", http_client=http) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name for t in (await session.list_tools()).tools}
                res = await session.call_tool("ask", {"question": "Who is the NATO Secretary General?"})
                assert not res.is_error and res.structured_content is not None, res.content
                return tools, res.structured_content

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own: the browser tests' may be running here
        tools, out = pool.submit(asyncio.run, ask(team.tokens["bob"])).result()
    assert tools == {"ask", "list_documents"} and not out["no_answer"]
    best = out["answers"][0]
    text = (team.seeds / best["document"]).read_text(encoding="utf-8")
    assert "Stoltenberg" in best["text"] and text[best["start"] : best["end"]] == best["text"]
    r = httpx.post(team.url + "mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and "error" in r.json()


def test_documents_api_adds_removes_and_restores_for_writers_only(team, tmp_path):
    """A writer uploads a real PDF (answered, cited with its page, when the call returns), removes it to the
    trash (no longer cited) and restores it; a reader gets 403; a name with a path is refused with its reason
    and nothing else changes; an unknown document or trash entry is 404."""
    from tests.pdf_docx_fixture import PAGE_FACTS, make_report

    pdf = tmp_path / "api-report.pdf"
    make_report(pdf)
    with httpx.Client(base_url=team.url, timeout=300) as client:
        files = {"files": ("api-report.pdf", pdf.read_bytes(), "application/pdf")}
        assert client.post("/api/documents", files=files, headers=_auth(team, "bob")).status_code == 403
        before = {d["name"] for d in client.get("/api/documents", headers=_auth(team, "bob")).json()["documents"]}
        hostile = client.post("/api/documents", files={"files": ("../escape.txt", b"words", "text/plain")}, headers=_auth(team, "alice"))
        assert hostile.status_code == 200 and hostile.json()["added"][0]["stored_as"] is None and hostile.json()["added"][0]["reason"]
        assert not (team.seeds.parent / "escape.txt").exists()

        added = client.post("/api/documents", files=files, headers=_auth(team, "alice"))
        assert added.status_code == 200, added.text
        assert added.json()["added"][0]["stored_as"] == "api-report.pdf"
        listed = client.get("/api/documents", headers=_auth(team, "bob")).json()
        assert {d["name"] for d in listed["documents"]} == before | {"api-report.pdf"}
        row = next(d for d in listed["documents"] if d["name"] == "api-report.pdf")
        assert row["kind"] == "pdf" and row["status"] == "indexed" and row["pages"] == len(PAGE_FACTS)

        ask = {"question": "Who was the harbour master in 2023?", "documents": ["api-report.pdf"]}
        best = client.post("/api/ask", json=ask, headers=_auth(team, "bob")).json()["answers"][0]
        assert best["document"] == "api-report.pdf" and best["page"] == 1 and best["text"] in PAGE_FACTS[1]

        assert client.delete("/api/documents/api-report.pdf", headers=_auth(team, "bob")).status_code == 403
        removed = client.delete("/api/documents/api-report.pdf", headers=_auth(team, "alice"))
        assert removed.status_code == 200, removed.text
        entry = removed.json()["removed"]["id"]
        gone = client.post("/api/ask", json=ask, headers=_auth(team, "bob"))
        assert gone.status_code == 400 and "api-report.pdf" in gone.json()["error"]  # no such document any more
        assert client.delete("/api/documents/api-report.pdf", headers=_auth(team, "alice")).status_code == 404
        assert client.post("/api/trash/no-such-entry/restore", headers=_auth(team, "alice")).status_code == 404

        restored = client.post(f"/api/trash/{entry}/restore", headers=_auth(team, "alice"))
        assert restored.status_code == 200 and restored.json()["restored"] == "api-report.pdf"
        again = client.post("/api/ask", json=ask, headers=_auth(team, "bob")).json()
        assert again["answers"][0]["document"] == "api-report.pdf"
