"""`injector signer`: the process that holds the key and answers on a Unix socket.

Everything is loaded and checked before the socket exists (a bad setting or policy, a file
or folder another uid could change: exit 2 and nothing listens). The socket is bound in a
private folder of the signer's own, beside its final name, born with the mode asked (default
0660: owner and group) and, if asked, the group (the private folder's, set on its descriptor
and inherited), listening, and only then renamed onto its name: nothing is changed by path, so
nobody can swap the name for a symlink between a bind and a chmod. One event loop serves every
connection (see `connections`). At start a `ready` line goes to stderr (and READY=1 to systemd
when NOTIFY_SOCKET is set); SIGHUP reloads the policy (a bad one keeps the old); SIGTERM (and
SIGINT) stop the accepting, let the requests in flight finish, remove the socket and exit 0.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import resource
import signal
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from injector.config import issuer_settings, subject
from injector.config.issuer_settings import (
    MAX_SOCKET_PATH_BYTES,
    PRIVATE_KEY_PATH,
    IssuerSettings,
)
from injector.config.subject import SubjectTemplate
from injector.errors import ConfigError, InjectorError, Problems, require_modules
from injector.signer import connections, custody, listener, policy, policy_file, readiness
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
    if path.is_symlink() or (path.exists() and not stat.S_ISSOCK(path.stat().st_mode)):
        raise ConfigError.of("--socket", f"{path} exists and is not a socket")
    problem = custody.folder_problem(path.parent, path.name)
    if problem is not None:
        raise ConfigError.of(
            "--socket",
            f"{problem}: refused, as another uid could put its own listener on {path.name} "
            "(use a folder only the signer's user can write)",
        )
    return path


def load_policy(policy_path: Path, template: SubjectTemplate) -> policy.Policy:
    """The policy in `policy_path`, refused (ConfigError) if another uid could have changed
    it, or if an attestation of it attests no phase for the signer's `{phase}` `template`."""
    custody.check_file(policy_file.OPTION, policy_path)
    chosen = policy_file.load(policy_path)
    policy.check_phases(chosen, template)
    return chosen


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
        assert issuer.private_key_path is not None  # noqa: S101 (require_key)
        key = issuer.private_key_path
        if problems.run(custody.check_file, PRIVATE_KEY_PATH, key, True) is not None:
            backend = problems.run(KeyFileBackend.load, issuer)
    if transit is not None:
        problems.run(custody.check_file, transit_settings.TOKEN_FILE, transit.token_file, True)
    template = issuer.subject_template if issuer is not None else subject.DEFAULT_TEMPLATE
    chosen = problems.run(load_policy, policy_path, template) if policy_path else policy.own_user()
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
    service = Service(issuer=issuer, backend=backend, policy=chosen)
    service.overflow.warn_entries(chosen, log)
    return service, listening


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


def raise_descriptor_limit() -> None:
    """The soft limit on open descriptors up to the hard one: every connection is one."""
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def reload_policy(service: Service, policy_path: Path | None) -> None:
    """On SIGHUP: the policy read again; a bad one (or one another uid could have changed)
    keeps the one in force, and says why."""
    if policy_path is None:
        log.warning("SIGHUP: no --policy to reload; %s stays", service.policy.source)
        return
    try:
        fresh = load_policy(policy_path, service.issuer.subject_template)
    except ConfigError as error:
        log.error(
            "SIGHUP: policy not reloaded, the %d entries loaded before stay: %s",
            len(service.policy.entries),
            error,
        )
        return
    service.policy = fresh
    service.overflow.warn_entries(fresh, log)
    readiness.say(f"policy reloaded from {fresh.source}: {len(fresh.entries)} entries")


def _ready_line(service: Service, listening: Listening) -> str:
    group = f", group {listening.gid}" if listening.gid is not None else ""
    return (
        f"signer ready on unix:{listening.path} (mode {listening.mode:04o}{group}); policy "
        f"{service.policy.source} ({len(service.policy.entries)} entries); key "
        f"{service.backend.description}; issuer {service.issuer.issuer}"
        f"{service.overflow.refused()}"
    )


def serve(service: Service, listening: Listening, policy_path: Path | None = None) -> int:
    """Serve until SIGTERM or SIGINT; 0 once the requests in flight are done. SIGHUP reloads
    the policy from `policy_path`."""
    raise_descriptor_limit()
    # The handlers only flag what to do; the wake-up byte (set_wakeup_fd) gets the loop out of
    # its wait at once, and the loop's thread does it. They are in place before the socket is
    # bound: from the moment a caller (or a supervisor waiting for the socket) can connect, a
    # SIGHUP is a reload, never Python's default end of the process.
    wake_reader, wake_writer = socket.socketpair()
    wake_writer.setblocking(False)
    reload_asked = stop_asked = False
    loop: connections.Loop | None = None

    def _on_wake() -> None:
        nonlocal reload_asked
        if reload_asked:
            reload_asked = False
            reload_policy(service, policy_path)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stop_asked
        log.info("signal %d: finishing the requests in flight", signum)
        stop_asked = True
        if loop is not None:
            loop.stop()

    def _on_hangup(_signum: int, _frame: FrameType | None) -> None:
        nonlocal reload_asked
        reload_asked = True

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, _on_hangup)
    previous_wakeup = signal.set_wakeup_fd(wake_writer.fileno(), warn_on_full_buffer=False)
    try:
        bound = listener.listen(listening.path, listening.mode, listening.gid)
        try:
            loop = connections.Loop(bound.socket, service)
            loop.wake_on(wake_reader, _on_wake)
            if stop_asked:  # a SIGTERM while the socket was being made
                loop.stop()
            readiness.say(_ready_line(service, listening))
            readiness.notify(os.environ)
            loop.run()
        finally:
            bound.remove()
    finally:
        signal.set_wakeup_fd(previous_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        wake_reader.close()
        wake_writer.close()
    return 0
