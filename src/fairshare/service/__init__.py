"""The shared service: sign-in, roles, returns, reviews and published plans (docs/service.md)."""
