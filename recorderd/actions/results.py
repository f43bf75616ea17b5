"""Result codes of `recorderd test`, numbered as the Foscam CGI's test_mail.cgi and test_ftp.cgi.

HTTP and camera-linkage tests use the codes that mean the same there (0, 1, 2, 3, 5, 10, 12).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recorderd.actions.outbox import ActionKind

MAIL_CODES: dict[int, str] = {
    0: "success",
    1: "cannot connect to the server",
    2: "network error",
    3: "server error",
    4: "wrong user",
    5: "wrong user or password",
    6: "sender rejected",
    7: "recipient rejected",
    8: "message rejected",
    9: "authentication not accepted",
    10: "internal error",
    11: "TLS is not available on this side",
    12: "invalid parameter",
    13: "the server does not support TLS/STARTTLS",
}

FTP_CODES: dict[int, str] = {
    0: "success",
    1: "cannot connect to the server",
    2: "network error",
    3: "server error",
    4: "wrong user",
    5: "wrong user or password",
    6: "bad directory",
    7: "passive mode error",
    8: "active (PORT) mode error",
    9: "upload (STOR/rename) error",
    10: "internal error",
}

HTTP_CODES: dict[int, str] = {
    0: "success",
    1: "cannot connect to the server",
    2: "network error",
    3: "server error (status other than 2xx)",
    5: "wrong user or password",
    10: "internal error",
    12: "invalid parameter",
}


def codes_for(kind: ActionKind) -> dict[int, str]:
    return {"email": MAIL_CODES, "ftp": FTP_CODES}.get(kind, HTTP_CODES)
