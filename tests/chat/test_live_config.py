"""``[chat]``, ``[phone]``/``[phone.twilio]`` and ``[portal]`` in the TOML config: defaults,
values, and every mistake located by line and column."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casedesk.config import AppConfig, ConfigError, parse_config
from casedesk.config_channels import chat_settings, phone_settings, portal_settings


def test_defaults() -> None:
    config = AppConfig()
    chat, phone, portal = chat_settings(config), phone_settings(config), portal_settings(config)
    assert chat.enabled and chat.max_message_chars == 4000 and chat.allowed_origins == ()
    assert (chat.rate_messages, chat.rate_per) == (8, 10.0)
    assert phone.auth_token_env == "CASEDESK_TWILIO_AUTH_TOKEN" and phone.missed_calls
    assert portal.enabled and portal.open_signup and portal.link_ttl == timedelta(minutes=15)


def test_values() -> None:
    config = parse_config(
        """
[chat]
max_message_chars = 1000
rate_limit = { messages = 3, per = "1m" }
allowed_origins = ["https://Shop.example.com"]
poll_interval = 0.5
session_lifetime = "7d"

[phone]
default_region = "gb"

[phone.twilio]
auth_token_env = "MY_TWILIO_TOKEN"
webhook_url = "https://help.example.com/api/v1/channels/phone/twilio"
missed_calls = false

[portal]
link_ttl = "30m"
open_signup = false
max_attachment_bytes = 1048576
max_attachments = 3
from = "help@example.com"
"""
    )
    chat = chat_settings(config)
    assert (chat.rate_messages, chat.rate_per, chat.poll_interval) == (3, 60.0, 0.5)
    assert chat.allowed_origins == ("https://shop.example.com",)
    assert chat.session_lifetime == timedelta(days=7)
    phone = phone_settings(config)
    assert (phone.default_region, phone.auth_token_env, phone.missed_calls) == (
        "GB",
        "MY_TWILIO_TOKEN",
        False,
    )
    portal = portal_settings(config)
    assert (portal.link_ttl, portal.open_signup, portal.sender) == (
        timedelta(minutes=30),
        False,
        "help@example.com",
    )


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('[chat]\nmax_message_chars = "lots"\n', "2:1: chat.max_message_chars", "whole number"),
        ("[chat]\nmax_message_chars = 0\n", "2:1: chat.max_message_chars", "from 1 to 100000"),
        ("[chat]\nrate_limit = { messages = 0 }\n", "2:1: chat.rate_limit", "messages = 1..1000"),
        ('[chat]\nallowed_origins = ["shop.example.com"]\n', "2:", "https://example.com"),
        ("[chat]\npoll_interval = 0\n", "2:1: chat.poll_interval", "from 0.1 to 60"),
        ('[chat]\nsession_lifetime = "forever"\n', "2:1: chat.session_lifetime", "duration"),
        ("[chat]\ncolour = 1\n", "2:1: chat.colour", "unknown key 'colour'"),
        ('[phone]\ndefault_region = "XX"\n', "2:1: phone.default_region", "unknown region"),
        (
            '[phone.twilio]\nauth_token_env = "my token"\n',
            "2:1: phone.twilio.auth_token_env",
            "NAME of an environment variable",
        ),
        ('[phone.twilio]\nauth_token = "secret"\n', "2:1: phone.twilio.auth_token", "unknown key"),
        ('[phone.twilio]\nwebhook_url = "nope"\n', "2:1: phone.twilio.webhook_url", "full public"),
        ('[portal]\nlink_ttl = "2d"\n', "2:1: portal.link_ttl", "between"),
        ('[portal]\nfrom = "support"\n', "2:1: portal.from", "not an e-mail address"),
        ("[portal]\nmax_attachments = 99\n", "2:1: portal.max_attachments", "from 0 to 20"),
    ],
)
def test_mistakes_are_located(text: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "casedesk.toml")
    [problem] = caught.value.problems
    assert str(problem).startswith(where) and message in problem.message, str(problem)
