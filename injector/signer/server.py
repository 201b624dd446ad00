"""`injector signer`: the process that holds the key and answers on a Unix socket.

Everything is loaded and checked before the socket exists (a bad setting or policy is exit 2
and nothing listens). The socket is made with the mode asked (default 0660: owner and group)
and, if asked, handed to a group, so that only the job's users can connect; the kernel then
names each caller. One event loop serves every connection (see `connections`). SIGTERM (and
SIGINT) stop the accepting, let the requests in flight finish, remove the socket and exit 0.
"""

from __future__ import annotations

import grp
import logging
import os
import signal
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from injector.config import issuer_settings
from injector.config.issuer_settings import MAX_SOCKET_PATH_BYTES, IssuerSettings
from injector.errors import ConfigError, InjectorError, Problems, require_modules
from injector.signer import connections, policy
from injector.signer.backend import KeyFileBackend, SigningBackend
from injector.signer.service import Service
from injector.transit import settings as transit_settings
from injector.transit.settings import TransitSettings

log = logging.getLogger("injector")

DEFAULT_MODE = 0o660


@dataclass(frozen=True)
class Listening:
    path: Path
    mode: int
    gid: int | None


def socket_mode(value: str) -> int:
    try:
        mode = int(value, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        raise ConfigError.of(
            "--socket-mode", f"expected octal permissions such as 0660, got {value!r}"
        )
    return mode


def socket_group(value: str) -> int:
    try:
        return grp.getgrnam(value).gr_gid
    except KeyError:
        pass
    if value.isdigit():
        return int(value)
    raise ConfigError.of(
        "--socket-group", f"expected an existing group name or a gid, got {value!r}"
    )


def _socket_path(path: Path) -> Path:
    if len(str(path).encode()) > MAX_SOCKET_PATH_BYTES:
        raise ConfigError.of(
            "--socket", f"longer than a Unix socket path allows ({MAX_SOCKET_PATH_BYTES} bytes)"
        )
    if not path.parent.is_dir():
        raise ConfigError.of("--socket", f"{path.parent} is not a folder")
    if path.exists() and not stat.S_ISSOCK(path.stat().st_mode):
        raise ConfigError.of("--socket", f"{path} exists and is not a socket")
    return path


def load(
    env: Mapping[str, str],
    socket_path: Path,
    policy_path: Path | None,
    mode: str | None,
    group: str | None,
) -> tuple[Service, Listening]:
    """The issuer settings and key (the variables the job side uses), the policy and the
    socket's settings. Raises ConfigError listing every problem."""
    problems = Problems()
    use_transit = transit_settings.configured(env)
    issuer = problems.run(issuer_settings.from_env, env, require_key=not use_transit)
    transit = problems.run(transit_settings.from_env, env) if use_transit else None
    backend: SigningBackend | None = None
    if issuer is not None and not use_transit:
        backend = problems.run(KeyFileBackend.load, issuer)
    chosen = problems.run(policy.load, policy_path) if policy_path else policy.own_user()
    listening = Listening(
        path=problems.get(socket_path, _socket_path, socket_path),
        mode=problems.get(DEFAULT_MODE, socket_mode, mode) if mode else DEFAULT_MODE,
        gid=problems.get(None, socket_group, group) if group else None,
    )
    problems.raise_if_any()
    assert issuer is not None and chosen is not None  # noqa: S101
    policy.warn_caller_named(chosen, log)
    if transit is not None:
        backend = _transit_backend(issuer, transit)
    assert backend is not None  # noqa: S101
    return Service(issuer=issuer, backend=backend, policy=chosen), listening


def _transit_backend(issuer: IssuerSettings, transit: TransitSettings) -> SigningBackend:
    """Reads the Transit key (its version and public part) before anything listens: a key of
    the wrong type is exit 2, OpenBao down or refusing exit 1 with its message."""
    require_modules("signer", "vault", ("httpx",))
    from injector.signer.transit_backend import TransitBackend
    from injector.transit.client import TransitError

    try:
        return TransitBackend.load(issuer, transit)
    except TransitError as error:
        raise InjectorError(f"{transit_settings.PREFIX}*: cannot read the key: {error}") from None


def _clear_stale(path: Path) -> None:
    """Remove a socket left by a signer that is gone; refuse one that still answers."""
    if not path.exists():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink(missing_ok=True)
            return
    raise InjectorError(f"--socket: another process listens on {path}")


def _listen(listening: Listening) -> socket.socket:
    _clear_stale(listening.path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Made owner-only, then opened to the mode asked once the group is right: never, even
        # for a moment, wider than asked.
        previous = os.umask(0o177)
        try:
            listener.bind(str(listening.path))
        finally:
            os.umask(previous)
        if listening.gid is not None:
            os.chown(listening.path, -1, listening.gid)
        listening.path.chmod(listening.mode)
        listener.listen(socket.SOMAXCONN)
    except OSError as error:
        listener.close()
        raise InjectorError(
            f"--socket: cannot listen on {listening.path}: {error.strerror}"
        ) from None
    return listener


def serve(service: Service, listening: Listening) -> int:
    """Serve until SIGTERM or SIGINT; 0 once the requests in flight are done."""
    loop = connections.Loop(_listen(listening), service)
    # The handler only flags the stop; the wake-up byte (set_wakeup_fd) gets the loop out of
    # its wait at once.
    wake_reader, wake_writer = socket.socketpair()
    wake_writer.setblocking(False)
    loop.wake_on(wake_reader)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the requests in flight", signum)
        loop.stop()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    previous_wakeup = signal.set_wakeup_fd(wake_writer.fileno(), warn_on_full_buffer=False)
    log.info(
        "signer listening on unix:%s (mode %04o), signing with %s for %s, policy %s",
        listening.path,
        listening.mode,
        service.backend.description,
        service.issuer.issuer,
        service.policy.source,
    )
    try:
        loop.run()
    finally:
        listening.path.unlink(missing_ok=True)
        signal.set_wakeup_fd(previous_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        wake_reader.close()
        wake_writer.close()
    return 0
