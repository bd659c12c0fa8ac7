"""Channel adapters: turn what arrives on each channel into calls of one intake service."""
