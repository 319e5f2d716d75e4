"""Atrium's shared platform kit. Small and boring on purpose: what every service repeats lives here."""
