"""A server's words made fit for a message: one line, clipped, the call's secrets blanked."""

from __future__ import annotations

from injector.net import redact


def test_clean_blanks_secrets_joins_lines_and_clips() -> None:
    text = redact.clean("token s3cr3t\nrefused " + "x" * 500, ("s3cr3t", ""), limit=60)
    assert text.startswith(f"token {redact.REDACTED} refused x")
    assert "\n" not in text
    assert len(text) == 60
