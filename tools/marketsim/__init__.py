"""A discrete-event simulation of a marketplace day on the real services (`make simulate`)."""
