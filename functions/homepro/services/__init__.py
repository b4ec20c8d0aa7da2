"""Use cases over the ports: claims, sweeps, roles, dispatch, payments, sessions, reports."""
