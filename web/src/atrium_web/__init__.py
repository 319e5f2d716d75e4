"""Atrium on the web: server-rendered pages for staff and clients, a client of the gateway's REST API only."""
