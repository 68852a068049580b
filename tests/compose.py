"""docker-compose.yml as docker compose reads it, for the tests that check it and the ones that run
the app with its environment."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_environment(service: str, shell: dict[str, str]) -> dict[str, str]:
    """The environment docker compose gives `service` when the shell has the variables `shell`:
    ${NAME:-default} and ${NAME:?error} as compose reads them."""

    def value(match: re.Match) -> str:
        name, operator, word = match.groups()
        if shell.get(name):
            return shell[name]
        if operator == ":?":
            raise KeyError(f"docker compose refuses to start without {name}: {word}")
        return word or ""

    environment = compose()["services"][service]["environment"]
    return {name: INTERPOLATION.sub(value, str(text)) for name, text in environment.items()}
