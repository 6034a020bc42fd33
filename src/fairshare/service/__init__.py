"""The shared service: sign-in, roles, returns, reviews, published plans and the job queue's
workers (docs/service.md)."""
