"""Basic, Digest (RFC 2617 with qop, RFC 2069 without) and the Foscam CGI's query credentials."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from recorderd.sim import SimCameraConfig, SimConfig, open_simulator
from recorderd.sim.auth import AuthPolicy, challenge, check, digest_params, make_nonce
from recorderd.sim.httpio import Request, parse_head

POLICY = AuthPolicy("digest", "admin", "pass word", "cam", True, "0pa9ue", b"k" * 32, nonce_ttl=60)


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def request(auth: str, target: str = "/a.cgi?x=1", method: str = "GET") -> Request:
    got = parse_head(f"{method} {target} HTTP/1.1\r\nAuthorization: {auth}\r\n\r\n".encode())
    assert got
    return got[0]


def digest_header(nonce: str, *, qop: bool, response: str | None = None, uri: str = "/a.cgi?x=1") -> str:
    ha1 = md5("admin:cam:pass word")
    ha2 = md5(f"GET:{uri}")
    if qop:
        resp = response or md5(f"{ha1}:{nonce}:00000001:abcd:auth:{ha2}")
        extra = ', qop=auth, nc=00000001, cnonce="abcd"'
    else:
        resp = response or md5(f"{ha1}:{nonce}:{ha2}")
        extra = ""
    return f'Digest username="admin", realm="cam", nonce="{nonce}", uri="{uri}", response="{resp}", opaque="0pa9ue"{extra}'


def test_digest_by_hand() -> None:
    now = 1_000_000.0
    nonce = make_nonce(POLICY, now)
    assert check(POLICY, request(digest_header(nonce, qop=True)), now) == "ok"
    assert check(POLICY, request(digest_header(nonce, qop=False)), now) == "ok"  # RFC 2069
    assert check(POLICY, request(digest_header(nonce, qop=True, response="0" * 32)), now) == "bad"
    assert check(POLICY, request(digest_header(nonce, qop=True, uri="/other.cgi")), now) == "bad"
    assert check(POLICY, request(digest_header("f" * 30, qop=True)), now) == "bad"  # not our nonce
    assert check(POLICY, request(digest_header(nonce, qop=True)), now + 61) == "stale"
    assert check(POLICY, request("Basic " + base64.b64encode(b"admin:pass word").decode()), now) == "bad"
    c = challenge(POLICY, now, stale=True)
    p = digest_params(c.removeprefix("Digest "))
    assert c.startswith("Digest ") and p["realm"] == "cam" and p["qop"] == "auth" and p["opaque"] == "0pa9ue"
    assert p["algorithm"] == "MD5" and p["stale"] == "true"
    no_qop = AuthPolicy("digest", "admin", "pass word", "cam", False, "0pa9ue", b"k" * 32)
    assert "qop" not in digest_params(challenge(no_qop, now))


def test_basic_and_query_by_hand() -> None:
    basic = AuthPolicy("basic", "admin", "secret", "r", True, "o", b"s")
    good = "Basic " + base64.b64encode(b"admin:secret").decode()
    assert check(basic, request(good), 0) == "ok"
    assert check(basic, request("Basic " + base64.b64encode(b"admin:nope").decode()), 0) == "bad"
    assert check(basic, request("Basic ###"), 0) == "bad"
    assert challenge(basic, 0) == 'Basic realm="r"'
    query = AuthPolicy("query", "admin", "secret", "r", True, "o", b"s")
    assert check(query, request(good, "/get_status.cgi?user=admin&pwd=secret"), 0) == "ok"
    assert check(query, request(good, "/get_status.cgi?user=admin&pwd=bad"), 0) == "bad"
    # set_ddns.cgi's own user/pwd are DDNS settings; the camera's come as cam_user/cam_pwd
    assert check(query, request(good, "/set_ddns.cgi?user=x&pwd=y&cam_user=admin&cam_pwd=secret"), 0) == "ok"
    got = parse_head(b"GET /get_status.cgi HTTP/1.0\r\n\r\n")
    assert got and check(query, got[0], 0) == "missing"


@pytest.mark.parametrize("qop", [True, False])
async def test_digest_over_http(qop: bool) -> None:
    cfg = SimConfig(
        cameras={"c": SimCameraConfig(dialect="vapix", auth="digest", digest_qop=qop, password="pw")}
    )
    async with open_simulator(cfg) as sim, httpx.AsyncClient() as client:
        cam = sim["c"]
        r = await client.get(cam.url("/param.cgi?action=list&group=Brand"))
        assert r.status_code == 401
        scheme, _, params = r.headers["www-authenticate"].partition(" ")
        p = digest_params(params)
        assert scheme == "Digest" and p["realm"] == "AXIS_SIM" and ("qop" in p) == qop
        r = await client.get(
            cam.url("/param.cgi?action=list&group=Brand"), auth=httpx.DigestAuth("admin", "pw")
        )
        assert r.status_code == 200 and r.text.startswith("Brand.Brand=")
        r = await client.get(cam.url("/param.cgi?action=list"), auth=httpx.DigestAuth("admin", "wrong"))
        assert r.status_code == 401
        r = await client.get(cam.url("/param.cgi?action=list"), auth=("admin", "pw"))  # Basic is not offered
        assert r.status_code == 401
        assert [x.status for x in cam.requests] == [401, 401, 200, 401, 401, 401]


async def test_basic_over_http_and_none() -> None:
    cfg = SimConfig(
        cameras={
            "b": SimCameraConfig(dialect="ipcamcgi", realm="DCS-930"),
            "n": SimCameraConfig(dialect="openapi", auth="none"),
        }
    )
    async with open_simulator(cfg) as sim, httpx.AsyncClient() as client:
        r = await client.get(sim["b"].url("/iocontrol.cgi"))
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="DCS-930"'
        r = await client.get(sim["b"].url("/iocontrol.cgi"), auth=("admin", "secret"))
        assert r.status_code == 200 and re.match(r"Trigger1=0&", r.text)
        r = await client.get(sim["n"].url("/image.jpg"))
        assert r.status_code == 200
