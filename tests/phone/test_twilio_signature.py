"""Our X-Twilio-Signature check agrees with Twilio's own ``RequestValidator``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from casedesk.channels import phone_twilio

TOKEN = "12345678901234567890123456789012"
URL = "https://help.example.com/api/v1/channels/phone/twilio?tenant=1"


def test_signature_matches_twilio_for_a_real_callback() -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675310"),
        ("Digits", "1234"),
        ("From", "+14158675310"),
        ("To", "+18005551212"),
    ]
    expected = RequestValidator(TOKEN).compute_signature(URL, dict(params))
    assert phone_twilio.signature(TOKEN, URL, params) == expected
    assert phone_twilio.valid(TOKEN, [URL], params, expected)


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=12)),
        max_size=8,
        unique_by=lambda p: p[0],
    )
)
def test_signature_matches_twilio_for_any_form(params: list[tuple[str, str]]) -> None:
    expected = RequestValidator(TOKEN).compute_signature(URL, dict(params))
    assert phone_twilio.signature(TOKEN, URL, params) == expected


def test_twilio_accepts_our_signatures_with_and_without_port() -> None:
    params = [("CallSid", "CA1"), ("CallStatus", "completed")]
    validator = RequestValidator(TOKEN)
    with_port = "https://help.example.com:443/api/v1/channels/phone/twilio"
    signed = validator.compute_signature(with_port, dict(params))
    assert phone_twilio.valid(
        TOKEN, ["https://help.example.com/api/v1/channels/phone/twilio"], params, signed
    )
    ours = phone_twilio.signature(TOKEN, URL, params)
    assert validator.validate(URL, dict(params), ours)


def test_anything_else_is_refused() -> None:
    params = [("CallSid", "CA1"), ("CallStatus", "completed")]
    good = phone_twilio.signature(TOKEN, URL, params)
    assert not phone_twilio.valid(TOKEN, [URL], params, None)
    assert not phone_twilio.valid(TOKEN, [URL], params, "")
    assert not phone_twilio.valid("another-token", [URL], params, good)
    assert not phone_twilio.valid(TOKEN, [URL + "&x=1"], params, good)
    assert not phone_twilio.valid(TOKEN, [URL], [*params, ("Extra", "1")], good)
    assert not phone_twilio.valid(TOKEN, [URL], [("CallSid", "CA2"), params[1]], good)
    assert not phone_twilio.valid("", [URL], params, good)
