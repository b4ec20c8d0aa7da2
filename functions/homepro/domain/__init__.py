"""The pure core: states, transitions, models, rules. No SDK imports here."""
