"""The HTTP layer: REST API, console, portal and admin pages."""
