"""HomePro Assist backend: dispatch, request and session lifecycle, payments."""
