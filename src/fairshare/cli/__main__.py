"""``python -m fairshare.cli``."""

from fairshare.cli import app

app()
