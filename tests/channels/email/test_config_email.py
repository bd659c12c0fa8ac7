"""``[email]`` in the TOML config: defaults, and every mistake explained at its position."""

from __future__ import annotations

import pytest

from casedesk.config import AppConfig, ConfigError, parse_config
from casedesk.config_email import email_settings


def test_defaults_need_no_section() -> None:
    settings = email_settings(AppConfig())
    assert settings.acknowledgement.enabled and not settings.smtpd.enabled
    assert settings.webhook is None and settings.imap == ()


def test_a_full_section_is_understood() -> None:
    settings = email_settings(
        parse_config("""\
[email]
addresses = ["Support@Example.com"]
smtpd = { host = "0.0.0.0", port = 25, enabled = true }
imap = [{ host = "imap.example.com", user = "support", password_env = "IMAP_PW" }]
inbound_webhook = { secret_env = "HOOK_SECRET", tolerance = "2m" }
acknowledgement = { subject = "Got it: $ticket_id", body = "Hi $customer_name" }
limits = { max_message_bytes = 1048576, max_attachment_bytes = 524288 }
rate_limit = { messages = 10, per = "5m" }
""")
    )
    assert settings.addresses == ("support@example.com",)
    assert (settings.smtpd.enabled, settings.smtpd.port) == (True, 25)
    [box] = settings.imap
    assert (box.port, box.tls, box.folder, box.interval) == (993, True, "INBOX", 60.0)
    assert settings.webhook is not None and settings.webhook.tolerance == 120
    assert (settings.rate_messages, settings.rate_per) == (10, 300)


@pytest.mark.parametrize(
    ("text", "path", "hint"),
    [
        ('addresses = ["nope"]', "email.addresses[0]", "not an address"),
        ("smtpd = { port = 99999 }", "email.smtpd.port", "TCP port"),
        (
            'imap = [{ host = "h", user = "u", password = "x" }]',
            "email.imap[0].password",
            "environment variable",
        ),
        (
            'inbound_webhook = { secret_env = "has space" }',
            "email.inbound_webhook.secret_env",
            "environment variable",
        ),
        ('acknowledgement = { body = "Hi $name" }', "email.acknowledgement.body", "$name"),
        ('rate_limit = { per = "forever" }', "email.rate_limit.per", "duration"),
        ("limits = { max_message_bytes = 10 }", "email.limits.max_message_bytes", "bytes"),
        ("smtp = {}", "email.smtp", "unknown key"),
    ],
)
def test_mistakes_are_located_and_explained(text: str, path: str, hint: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(f"[email]\n{text}\n", "c.toml")
    [problem] = [p for p in error.value.problems if p.path == path]
    assert hint in problem.message and problem.line == 2
