"""FTP target: aioftp through the asyncio bridge; passive or active, no partial file under a final name.

Each upload goes to `<name>.part` in the target directory and is renamed to its final name only
after the server confirmed the whole transfer (226), so a reader of the final name never sees a
partial file. The directory is created as needed. With `retain_connection` (Foscam CGI ftp_retain)
logged-in connections are kept between uploads (up to `concurrency` of them); a kept connection
that the server closed meanwhile is replaced once, within the same attempt.
aioftp's client only knows passive mode; active mode (PORT/EPRT) is done here with a listening
socket on the control connection's local address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TypeVar

import aioftp
import trio

from recorderd.actions.bridge import AsyncioBridge
from recorderd.actions.outbox import Action, Attachment, DeliveryError, FixedTimeoutSender
from recorderd.config.model import FtpTarget
from recorderd.core.errors import RecorderdError

log = logging.getLogger("recorderd.actions")
CHUNK = 64 * 1024
T = TypeVar("T")


class FtpFailure(RecorderdError):
    """A failed step, with its Foscam CGI test_ftp.cgi code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _reply(e: aioftp.StatusCodeError) -> str:
    got = ",".join(str(c) for c in e.received_codes)
    info = " ".join(str(i) for i in (e.info or []))[:100]
    return f"{got} {info}".strip()


@dataclass
class _Conn:
    client: aioftp.Client
    home: str
    made: set[str]
    reused: bool = False


async def _step(code: int, what: str, aw: Awaitable[T]) -> T:
    """Await `aw`; any FTP or network failure becomes FtpFailure(code, what: reason)."""
    try:
        return await aw
    except aioftp.StatusCodeError as e:
        if any(str(c).startswith("421") for c in e.received_codes):
            raise FtpFailure(2, f"{what}: the server closed the connection") from None
        raise FtpFailure(code, f"{what}: {_reply(e)}") from None
    except (TimeoutError, OSError, asyncio.IncompleteReadError, EOFError) as e:
        raise FtpFailure(2, f"{what}: network error ({type(e).__name__})") from None


class FtpSender(FixedTimeoutSender):
    def __init__(self, name: str, cfg: FtpTarget, bridge: AsyncioBridge) -> None:
        self.name = name
        self.cfg = cfg
        self.bridge = bridge
        self.concurrency = cfg.concurrency
        self.timeout = cfg.timeout
        self._idle: list[_Conn] = []  # only touched in the asyncio thread

    # -- the trio side ---------------------------------------------------------------------

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        remote = action.payload.get("remote")
        if not isinstance(remote, str) or not attachments:
            raise DeliveryError(f"{self.name}: no file to upload", permanent=True)
        source = attachments[0]
        if source.data is None and source.path is not None:
            try:  # a missing clip is a permanent failure; trio's file I/O keeps the loop free
                await (await trio.open_file(source.path, "rb")).aclose()
            except OSError as e:
                raise DeliveryError(
                    f"{self.name}: cannot read {source.path}: {e.strerror or type(e).__name__}",
                    permanent=True,
                ) from None
        await self.upload(remote, source)

    async def upload(self, remote: str, source: Attachment) -> None:
        await self._run(remote, source, False)

    async def test(self, remote: str, data: bytes) -> None:
        """Upload a file (temporary name, rename) and remove it again: `recorderd test`."""
        await self._run(remote, Attachment("test", data), True)

    async def _run(self, remote: str, source: Attachment, remove_after: bool) -> None:
        try:
            await self.bridge.run(self._upload, remote, source, remove_after)
        except FtpFailure as e:
            raise DeliveryError(f"{self.name}: {e.message}", code=e.code) from None
        except (OSError, EOFError, asyncio.IncompleteReadError) as e:  # mid-transfer
            raise DeliveryError(f"{self.name}: network error ({type(e).__name__})", code=2) from None

    async def aclose(self) -> None:
        await self.bridge.run(self._close_idle)

    # -- the asyncio side -------------------------------------------------------------------

    async def _close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for c in idle:
            await _quietly_quit(c.client)

    async def _connect(self) -> _Conn:
        c = self.cfg
        client = aioftp.Client(socket_timeout=c.timeout, connection_timeout=c.timeout)
        try:
            try:
                await client.connect(c.host, c.port)
            except aioftp.StatusCodeError as e:
                raise FtpFailure(3, f"server refused the connection: {_reply(e)}") from None
            except (TimeoutError, OSError) as e:
                raise FtpFailure(1, f"cannot connect to {c.host}:{c.port} ({type(e).__name__})") from None
            user = c.username or "anonymous"
            code, _info = await _step(4, "user rejected", client.command("USER " + user, ("230", "33x")))
            if code.matches("33x"):
                # censor_after: aioftp logs the command with the password masked
                await _step(
                    5, "login failed", client.command("PASS " + (c.secret() or ""), "230", censor_after=5)
                )
            home = await _step(3, "PWD", client.get_current_directory())
            return _Conn(client, str(home), set())
        except BaseException:
            client.close()
            raise

    async def _acquire(self) -> _Conn:
        while self._idle:
            conn = self._idle.pop()
            conn.reused = True
            return conn
        return await self._connect()

    async def _upload(self, remote: str, source: Attachment, remove_after: bool = False) -> None:
        conn = await self._acquire()
        try:
            await self._store(conn, remote, source, remove_after)
        except FtpFailure as e:
            conn.client.close()  # after a failure the session's state is unknown
            if not (conn.reused and e.code == 2):
                raise
            # a kept connection the server had closed meanwhile: once more on a fresh one
            conn = await self._connect()
            try:
                await self._store(conn, remote, source, remove_after)
            except BaseException:
                conn.client.close()
                raise
        except BaseException:
            conn.client.close()  # cancelled mid-transfer
            raise
        if self.cfg.retain_connection and len(self._idle) < self.cfg.concurrency:
            conn.reused = False
            self._idle.append(conn)
        else:
            await _quietly_quit(conn.client)

    async def _store(self, conn: _Conn, remote: str, source: Attachment, remove_after: bool) -> None:
        client = conn.client
        path = PurePosixPath(remote)
        directory = str(path.parent) if str(path.parent) not in ("", ".") else ""
        if directory and directory not in conn.made:
            await self._make_dirs(conn, directory)
        where = str(PurePosixPath(conn.home, directory)) if directory else conn.home
        await _step(6, f"directory {directory or '.'}", client.change_directory(where))
        temp = path.name + ".part"
        await self._transfer(client, temp, source)
        await _step(9, "rename", client.command("RNFR " + temp, "350"))
        code, _info = await _step(9, "rename", client.command("RNTO " + path.name, ("2xx", "550", "553")))
        if not code.matches("2xx"):
            # the source was accepted (350) but the target refused: a server that will not rename
            # over an existing file (overwrite naming). Only then is the old file removed first.
            await _step(9, "rename", client.command("DELE " + path.name, "2xx"))
            await _step(9, "rename", client.command("RNFR " + temp, "350"))
            await _step(9, "rename", client.command("RNTO " + path.name, "2xx"))
        if remove_after:
            await _step(9, "remove test file", client.command("DELE " + path.name, "2xx"))
        if directory:
            # back home for the next upload on a kept connection; after a failure or a cancel the
            # connection is closed instead (no round trip that would slow a shutdown)
            await _step(2, "CWD", client.change_directory(conn.home))

    async def _make_dirs(self, conn: _Conn, directory: str) -> None:
        client = conn.client
        parts = PurePosixPath(directory).parts
        for i in range(1, len(parts) + 1):
            sub = str(PurePosixPath(conn.home, *parts[:i]))
            # 550 "exists" and 550 "not allowed" look alike; the CWD after tells them apart
            await _step(6, f"directory {directory}", client.command("MKD " + sub, ("257", "550", "521")))
        conn.made.add(directory)

    async def _transfer(self, client: aioftp.Client, name: str, source: Attachment) -> None:
        if self.cfg.passive:
            try:  # sends TYPE I, then EPSV or PASV
                _reader, writer = await client.get_passive_connection("I")
            except aioftp.StatusCodeError as e:
                raise FtpFailure(7, f"passive mode: {_reply(e)}") from None
            except (TimeoutError, OSError) as e:
                raise FtpFailure(
                    7, f"passive mode: cannot open the data connection ({type(e).__name__})"
                ) from None
            await _step(9, f"STOR {name}", client.command("STOR " + name, "1xx"))
        else:
            await _step(3, "TYPE I", client.command("TYPE I", "200"))
            _reader, writer = await self._active(client, name)
        try:
            await self._write(writer, source)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await _step(9, f"STOR {name}", client.command(None, "2xx", "1xx"))

    async def _active(
        self, client: aioftp.Client, name: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        accepted: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.get_running_loop().create_future()
        )

        def on_connect(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            if accepted.done():
                w.close()
            else:
                accepted.set_result((r, w))

        local = client.stream.writer.get_extra_info("sockname")[0]
        server = await asyncio.start_server(on_connect, host=local, port=0)
        try:
            port = server.sockets[0].getsockname()[1]
            ip = ipaddress.ip_address(local)
            if ip.version == 4:
                h = str(ip).replace(".", ",")
                cmd = f"PORT {h},{port >> 8},{port & 0xFF}"
            else:
                cmd = f"EPRT |2|{ip}|{port}|"
            try:
                await client.command(cmd, "200")
            except aioftp.StatusCodeError as e:
                raise FtpFailure(8, f"active mode: {_reply(e)}") from None
            await _step(9, f"STOR {name}", client.command("STOR " + name, "1xx"))
            try:
                return await asyncio.wait_for(accepted, self.cfg.timeout)
            except TimeoutError:
                raise FtpFailure(8, "active mode: the server did not connect back") from None
        finally:
            server.close()

    async def _write(self, writer: asyncio.StreamWriter, source: Attachment) -> None:
        if source.data is not None:
            for i in range(0, len(source.data), CHUNK):
                writer.write(source.data[i : i + CHUNK])
                await writer.drain()
            return
        assert source.path is not None
        with open(source.path, "rb") as f:  # small blocking reads on the private loop only
            while chunk := f.read(CHUNK):
                writer.write(chunk)
                await writer.drain()


async def _quietly_quit(client: aioftp.Client) -> None:
    try:
        await asyncio.wait_for(client.quit(), 2.0)
    except Exception:
        pass
    finally:
        client.close()
