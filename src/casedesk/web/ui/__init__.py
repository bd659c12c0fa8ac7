"""Server-rendered pages: console, portal, admin, reports."""
