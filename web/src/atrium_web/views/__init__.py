"""The pages: sign-in and out (auth), the client portal (portal) and the staff console (staff)."""
