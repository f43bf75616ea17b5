"""Camera authentication: Basic, Digest (MD5, with or without qop) and the Foscam CGI's query parameters.

Pure functions over a request and the time, so they are tested without sockets. Digest follows
RFC 2617 (qop="auth") and RFC 2069 (no qop); nonces are stateless (time + HMAC) and go stale after
`nonce_ttl`, when the challenge says stale=true. Replays within the ttl are not detected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from recorderd.sim.config import AuthScheme
from recorderd.sim.httpio import Request

Verdict = Literal["ok", "missing", "bad", "stale"]
# quoted values end at the next quote: clients (httpx, curl) do not escape a backslash in the uri
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


@dataclass(frozen=True)
class AuthPolicy:
    mode: AuthScheme
    username: str
    password: str
    realm: str
    qop: bool
    opaque: str
    secret: bytes
    nonce_ttl: float = 600.0


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def make_nonce(policy: AuthPolicy, now: float) -> str:
    stamp = f"{int(now):x}"
    mac = hmac.new(policy.secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    return f"{stamp}{mac}"


def _nonce_age(policy: AuthPolicy, nonce: str, now: float) -> float | None:
    stamp, mac = nonce[:-24], nonce[-24:]
    good = hmac.new(policy.secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    if not stamp or not hmac.compare_digest(mac, good):
        return None
    try:
        return now - int(stamp, 16)
    except ValueError:
        return None


def challenge(policy: AuthPolicy, now: float, stale: bool = False) -> str:
    """The WWW-Authenticate value for a 401."""
    if policy.mode != "digest":
        return f'Basic realm="{policy.realm}"'
    parts = [f'realm="{policy.realm}"', f'nonce="{make_nonce(policy, now)}"']
    if policy.qop:
        parts.append('qop="auth"')
    parts += [f'opaque="{policy.opaque}"', "algorithm=MD5"]
    if stale:
        parts.append("stale=true")
    return "Digest " + ", ".join(parts)


def digest_params(value: str) -> dict[str, str]:
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(value)
    }


def _check_basic(policy: AuthPolicy, value: str) -> Verdict:
    try:
        user, _, pwd = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return "bad"
    ok = hmac.compare_digest(user, policy.username) and hmac.compare_digest(pwd, policy.password)
    return "ok" if ok else "bad"


def _check_digest(policy: AuthPolicy, req: Request, value: str, now: float) -> Verdict:
    p = digest_params(value)
    need = ("username", "realm", "nonce", "uri", "response")
    if any(k not in p for k in need) or p["username"] != policy.username or p["realm"] != policy.realm:
        return "bad"
    if p["uri"] != req.target or ("opaque" in p and p["opaque"] != policy.opaque):
        return "bad"
    if p.get("algorithm", "MD5").upper() != "MD5":
        return "bad"
    ha1 = _md5(f"{policy.username}:{policy.realm}:{policy.password}")
    ha2 = _md5(f"{req.method}:{p['uri']}")
    if "qop" in p:
        if p["qop"] != "auth" or "nc" not in p or "cnonce" not in p:
            return "bad"
        want = _md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
    else:
        want = _md5(f"{ha1}:{p['nonce']}:{ha2}")
    if not hmac.compare_digest(want, p["response"].lower()):
        return "bad"
    age = _nonce_age(policy, p["nonce"], now)
    if age is None:
        return "bad"
    return "stale" if age > policy.nonce_ttl or age < -5 else "ok"


def _check_query(policy: AuthPolicy, req: Request) -> Verdict | None:
    """Foscam CGI: `user=&pwd=`; CGIs whose own parameters are user/pwd take `cam_user=&cam_pwd=`."""
    params = req.params
    for u, p in (("cam_user", "cam_pwd"), ("user", "pwd")):
        if u in params:
            ok = hmac.compare_digest(params[u], policy.username) and hmac.compare_digest(
                params.get(p, ""), policy.password
            )
            return "ok" if ok else "bad"
    return None


def check(policy: AuthPolicy, req: Request, now: float) -> Verdict:
    if policy.mode == "none":
        return "ok"
    if policy.mode == "query":
        verdict = _check_query(policy, req)
        if verdict is not None:
            return verdict
    header = req.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        return "missing"
    if scheme.lower() == "basic" and policy.mode in ("basic", "query"):
        return _check_basic(policy, value)
    if scheme.lower() == "digest" and policy.mode == "digest":
        return _check_digest(policy, req, value, now)
    return "bad"
