"""docs/deploy.md against the service as built: its commands, options, settings and proxy limit.

The deployment guide is copied into other people's servers, so what it tells them to type must
exist: every `fairshare ...` command line in it names real commands and options (read from the
CLI itself, not from a list kept here), its settings file is accepted by the service's own
settings loader, and nginx's body-size limit lets through the largest request the app accepts.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer

from fairshare.cli import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"


def _text() -> str:
    """The guide with shell line continuations joined, so a command is one line."""
    return re.sub(r"\\\n\s*", " ", DOC.read_text(encoding="utf-8"))


def _cli() -> Any:
    return typer.main.get_group(app)


def _is_group(command: Any) -> bool:
    return hasattr(command, "get_command") and hasattr(command, "list_commands")


def command_lines(text: str, top: set[str]) -> list[list[str]]:
    """Each `fairshare WORD ...` in the guide whose first word is a command or an option, as
    its words up to the end of the command (a backtick, a comment, `&&` or the line's end)."""
    found = []
    # (not the user or owner called fairshare: `sudo -u fairshare`, `createdb --owner fairshare`)
    pattern = r"(?:^|[\s/`])(?<!-u )(?<!--owner )fairshare ([^\n`#&|]*)"
    for match in re.finditer(pattern, text, re.MULTILINE):
        words = match.group(1).split()
        if words and (words[0] in top or words[0].startswith("--")):
            found.append(words)
    return found


def resolve(words: list[str]) -> tuple[Any, list[str], list[str]]:
    """The command the words name, its path, and the options given to it."""
    root = _cli()
    command = root
    path: list[str] = []
    ctx = typer.Context(root)
    rest = list(words)
    while rest and _is_group(command) and not rest[0].startswith("-"):
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            raise AssertionError(f"`fairshare {' '.join([*path, rest[0]])}` is not a command "
                                 f"(the guide says `fairshare {' '.join(words)}`)")
        command, path = sub, [*path, rest.pop(0)]
    options = [w.split("=")[0] for w in rest if w.startswith("--")]
    return command, path, options


def test_every_command_and_option_in_the_guide_exists() -> None:
    root = _cli()
    top = set(root.list_commands(typer.Context(root)))
    lines = command_lines(_text(), top)
    named = {" ".join(resolve(w)[1]) for w in lines}
    # the guide's commands for running the service are all there (so the parse found them)
    assert {"service serve", "service worker", "service create-admin", "db upgrade",
            "db status"} <= named, named
    for words in lines:
        command, path, options = resolve(words)
        known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        unknown = [o for o in options if o not in known]
        assert not unknown, (f"`fairshare {' '.join(path)}` has no option {unknown} (the guide "
                             f"says `fairshare {' '.join(words)}`)")


def test_a_command_the_cli_lacks_is_caught() -> None:
    """The check above can fail: a misspelt subcommand and an unknown option are reported."""
    with pytest.raises(AssertionError, match="not a command"):
        resolve(["service", "start"])
    command, _, options = resolve(["service", "serve", "--workers", "4"])
    assert "--workers" not in {o for p in command.params for o in p.opts}
    assert options == ["--workers"]


def _settings_block() -> dict[str, Any]:
    block = re.search(r"```toml\n(# /etc/fairshare/service.toml.*?)```", DOC.read_text(), re.S)
    assert block, "the guide's settings file (a ```toml block) is missing"
    return tomllib.loads(block.group(1))


def test_the_guides_settings_file_is_accepted_as_written(tmp_path: Path) -> None:
    from fairshare.service.settings import load_settings

    path = tmp_path / "service.toml"
    text = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    assert text is not None
    path.write_text(text.group(1), encoding="utf-8")
    settings = load_settings(path, env={})
    given = _settings_block()
    for key, value in given.items():
        got = getattr(settings, key)
        assert (list(got) if isinstance(got, tuple) else got) == value, key
    # behind one proxy: the client address comes from it, and cookies stay Secure
    assert settings.trusted_proxies == 1 and settings.secure_cookies is True


def test_nginx_lets_through_the_largest_request_the_service_accepts(tmp_path: Path) -> None:
    """client_max_body_size must not cut off an upload the service would take (or explain)."""
    from fairshare.service.app import create_app
    from fairshare.service.settings import load_settings
    from fairshare.store.db import open_database

    path = tmp_path / "service.toml"
    text = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    assert text is not None
    path.write_text(text.group(1), encoding="utf-8")
    settings = load_settings(path, env={})
    service = create_app(settings, open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))
    accepted = service.config["MAX_CONTENT_LENGTH"]
    limit = re.search(r"client_max_body_size (\d+)([km]?);", DOC.read_text())
    assert limit is not None
    nginx_bytes = int(limit.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[limit.group(2)]
    assert accepted <= nginx_bytes < accepted + 4 * 1024 * 1024, (accepted, nginx_bytes)
