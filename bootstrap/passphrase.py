"""The passphrase that encrypts stack secrets on the file and S3 backends.

Taken from `PULUMI_CONFIG_PASSPHRASE` when set (CI sets it from the secret of the same name);
otherwise generated once per project and kept outside the repository, in a 0600 file under the
user's config directory (`platformdirs.user_config_dir("bootstrap")/passphrases/<project>`).
The value is never printed: `Passphrase` masks itself in `repr` and `str`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bootstrap.errors import CredentialsError
from stacks.contract import SECRET_MASK, SECRET_PASSPHRASE

ENV_VAR = SECRET_PASSPHRASE  # Pulumi's variable; CI's secret has its name
FILE_ENV_VAR = f"{ENV_VAR}_FILE"

Source = Literal["env", "env-file", "file", "generated"]


@dataclass(frozen=True)
class Passphrase:
    """A passphrase and where it came from. `value` is left out of every representation."""

    value: str = field(repr=False)
    source: Source
    path: Path | None = None

    def __str__(self) -> str:
        return SECRET_MASK

    def env(self) -> dict[str, str]:
        """The environment the Pulumi CLI needs to encrypt and decrypt this project's secrets."""
        return {ENV_VAR: self.value}


def config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("bootstrap"))


def passphrase_path(project: str) -> Path:
    return config_dir() / "passphrases" / project


def get_passphrase(project: str, *, create: bool = True) -> Passphrase:
    """The project's passphrase: the environment first, then the user's file, then a new one.

    With `create=False` a missing passphrase is an error (a stack encrypted with a passphrase
    that this machine does not have cannot be read with a new one).
    """
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Passphrase(from_env, "env")
    env_file = os.environ.get(FILE_ENV_VAR)
    if env_file:
        return Passphrase(_read(Path(env_file)), "env-file", Path(env_file))
    path = passphrase_path(project)
    if path.is_file():
        return Passphrase(_read(path), "file", path)
    if not create:
        raise CredentialsError(
            f"no passphrase for project '{project}': its stacks' secrets are encrypted with one",
            f"export {ENV_VAR} (the GitHub secret of the same name holds it) or restore {path}",
        )
    return _generate(path)


def _generate(path: Path) -> Passphrase:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o700)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another run made it first: use theirs
        return Passphrase(_read(path), "file", path)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return Passphrase(value, "generated", path)


def _read(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            path.chmod(0o600)  # readable by others: tighten rather than leave it open
        value = path.read_text().strip()
    except OSError as exc:
        raise CredentialsError(
            f"cannot read the passphrase file {path} ({exc.strerror})",
            f"fix its permissions (chmod 600 {path}) or export {ENV_VAR}",
        ) from exc
    if not value:
        raise CredentialsError(
            f"the passphrase file {path} is empty",
            f"restore it, or export {ENV_VAR} with the project's passphrase",
        )
    return value
