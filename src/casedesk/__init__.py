"""casedesk: self-hosted customer-support case management."""

__version__ = "0.1.0"
