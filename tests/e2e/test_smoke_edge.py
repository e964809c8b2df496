"""The smoke suite through the real edge, in both shapes, as the post-deploy gate runs it."""

from tests.support.edge import Edge, cookie_header, sign_in
from tests.support.ops import make_smoke, smoke


def _api_args(edge: Edge) -> tuple[str, ...]:
    return ("--api-url", edge.api_url) if edge.api_url else ()


def test_the_edge_passes_without_a_session(edge: Edge):
    result = smoke("--url", edge.url, "--auth", *_api_args(edge), "--deadline", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("dashboard-health", "auth-alive", "auth-ready", "sign-in-redirect"):
        assert f"PASS {name}" in result.stdout
    assert ("PASS api-ready" in result.stdout) is bool(edge.api_url)
    assert "SKIP websocket-run" in result.stdout


def test_the_edge_passes_the_websocket_check_with_a_session(edge: Edge):
    cookie = cookie_header(sign_in(edge.url, "smoke@example.com"))["Cookie"]
    result = smoke("--url", edge.url, "--auth", "--cookie", cookie, "--deadline", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS websocket-run" in result.stdout


def test_make_smoke_signs_in_for_the_websocket_check(edge: Edge):
    """``--sign-in`` walks the dev provider's login form: no cookie copied by hand."""
    email = "smoke-sign-in@example.com"
    result = make_smoke(edge.url, f"SMOKE_ARGS=--auth --sign-in {email} --deadline 30")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS websocket-run" in result.stdout
    assert f"signed in as {email}" in result.stdout  # the status page named the user
