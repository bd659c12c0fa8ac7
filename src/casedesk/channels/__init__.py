"""Intake channels: each turns what arrives into a message for the intake service."""
