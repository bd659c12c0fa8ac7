"""The e-mail channel: parsing inbound MIME, threading, SMTP/IMAP intake and outbound mail."""
