"""What a model file may say about where it came from: commands and metadata without machine paths.

A model file is meant to be shared between sites, but the folders it was trained and tested on
are often named after patients or studies (``/data/Doe_Jane/scans``). This module keeps those
names out of every file: ``portable_command`` is the command line recorded for training,
``scrub_metadata`` is applied by ``modelfile.save_model_file`` to everything it writes, and
``find_paths`` lists what would still leak (used by the tests and ``experiments/strip_model_paths.py``).

Rules, applied to every string in the metadata:

* Keys that only ever hold a folder (``data_dir`` …) are dropped with their value.
* A ``command`` value that is a ``pneumo-desktop`` command line is rebuilt with
  ``portable_command``: folder arguments become placeholders (``DATA_DIR``, ``TEST_DIR`` …) and
  file arguments keep only their file name.
* Anywhere else, an absolute or home-relative path (POSIX ``/…``, ``~/…``, Windows ``C:\\…`` or
  ``\\\\server\\…``) is replaced by its file name when it ends in a known file suffix
  (``.pneumo``, ``.png`` …), else by ``<folder>``.

Plain Python (``re``, ``shlex``); no Qt, no torch.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

__all__ = ["portable_command", "scrub_metadata", "scrub_text", "find_paths", "FOLDER_KEYS"]

PROGRAM = "pneumo-desktop"
SUBCOMMANDS = ("predict", "train", "evaluate", "info")

# Options whose value names a file: only the file name is recorded.
FILE_OPTIONS = frozenset({"--out", "--init", "--model", "--figure", "--csv", "--config"})
# Options whose value names a folder: the value is replaced by a placeholder.
FOLDER_OPTIONS = {"--test-dir": "TEST_DIR", "--cache-dir": "CACHE_DIR", "--heatmaps": "HEATMAP_DIR"}
# Options that take no value. Any other option is taken to consume the next argument, so this
# set must list every store-true flag of the CLI, or the argument after such a flag (the data
# folder, say) would be judged as that flag's value; tests/core/test_provenance.py checks it
# against ``cli.build_parser()``.
VALUELESS_OPTIONS = frozenset({"-h", "--help", "--version", "--self-test", "--json", "--record",
                               "--no-augment", "--augment-after-equalise", "--no-bf16", "--resume"})
# The positional argument of these sub-commands is a labelled folder.
FOLDER_POSITIONAL = {"train": "DATA_DIR", "evaluate": "DATA_DIR"}
FOLDER_PLACEHOLDER = "FOLDER"        # a folder argument of unknown meaning, inside a command
TEXT_PLACEHOLDER = "<folder>"        # a folder inside any other text
# Keys whose value is only ever a folder: removed, not rewritten (nothing of it is useful).
FOLDER_KEYS = frozenset({"data_dir", "test_dir", "cache_dir", "data_folder", "test_folder"})
COMMAND_KEYS = frozenset({"command"})

# A name counts as a file only with one of these suffixes. A looser rule (any ".xyz") would let
# a folder called ``Doe.Jane`` through as if it were a file name.
FILE_SUFFIXES = frozenset({
    ".pneumo", ".safetensors", ".pt", ".pth", ".onnx", ".npz", ".npy",
    ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom", ".gif", ".webp",
    ".csv", ".json", ".txt", ".log", ".md", ".html", ".pdf", ".ini", ".toml", ".yaml", ".yml",
    ".py", ".sh", ".zip", ".gz", ".tar",
})

# Where a path starts inside a text. Each start must not follow a word character, a dot or a
# separator, so "and/or", "bench/add_detector.py", "1/2" and URLs ("https://") are not paths.
_PATH_START = (
    r"(?:"
    r"(?<![\w.~/\\])[A-Za-z]:[\\/]"        # Windows drive: C:\... or C:/...
    r"|(?<![\w.~/\\:])\\\\(?=[^\s\\])"       # UNC: \\server\share
    r"|(?<![\w.~/\\:])//(?=\w)"              # UNC with forward slashes: //server/share
    r"|(?<![\w.~/\\])~[\w.-]*[\\/]"         # home-relative: ~/..., ~jane/...
    r"|(?<![\w.~/\\])/(?![/\s])"            # POSIX absolute: /...
    r")"
)
# The rest of the path; it continues across a space while the next word holds a separator
# ("/home/Jane Doe/scans" is one path), so a space in a folder name does not leak its tail.
_PATH_BODY = r"[^\s'\"<>|]*(?:[ \t]+[^\s'\"<>|/\\]*[\\/][^\s'\"<>|]*)*"
_PATH_RE = re.compile(_PATH_START + _PATH_BODY)
_FULL_PATH_RE = re.compile(r"^\s*" + _PATH_START)
_TRAILING_PUNCTUATION = ".,;:)]}"


def _base_name(path: str) -> str:
    """The last component of a POSIX or Windows path ('' when there is none)."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


def _has_separator(text: str) -> bool:
    return "/" in text or "\\" in text


def _is_file_name(name: str) -> bool:
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in FILE_SUFFIXES


def _reduce_path(path: str, placeholder: str) -> str:
    """A path -> its file name when it names a file, else ``placeholder``."""
    name = _base_name(path)
    return name if _is_file_name(name) else placeholder


# ----- commands ---------------------------------------------------------------------------------
def _resolve_option(name: str) -> str:
    """An option as argparse reads it: an unambiguous prefix (``--test`` for ``--test-dir``)
    stands for the whole known option; anything else is returned as given."""
    known = FILE_OPTIONS | set(FOLDER_OPTIONS) | VALUELESS_OPTIONS
    if name in known or not name.startswith("--") or len(name) < 4:
        return name
    matches = [option for option in known if option.startswith(name)]
    return matches[0] if len(matches) == 1 else name


def _option_value(option: str, value: str) -> str:
    if option in FILE_OPTIONS:
        return _base_name(value) or "FILE"
    if option in FOLDER_OPTIONS:
        return FOLDER_OPTIONS[option]
    return _reduce_path(value, FOLDER_PLACEHOLDER) if _has_separator(value) else value


def _is_option(token: str) -> bool:
    """``--out``, ``-h``; not ``-``, not a negative number."""
    return token.startswith("-") and len(token) > 1 and not re.fullmatch(r"-\d[\d.eE+-]*", token)


def portable_command(argv: Sequence[str]) -> str:
    """The command line to record in a model file, without any folder of this machine.

    Args:
        argv: the arguments after the program name, e.g. ``["train", "/data/x", "--out",
            "/runs/m.pneumo", "--epochs", "15"]``.

    Returns:
        ``"pneumo-desktop "`` plus the arguments, shell-quoted, with the labelled folder of
        ``train``/``evaluate`` as ``DATA_DIR``, the values of ``--test-dir``/``--cache-dir``/
        ``--heatmaps`` as ``TEST_DIR``/``CACHE_DIR``/``HEATMAP_DIR``, the values of
        ``--out``/``--init``/``--model``/``--figure``/``--csv`` reduced to their file name, and
        any other argument that contains a path separator reduced to its file name when it has
        a known file suffix, else to ``FOLDER``. ``predict``'s files and folders follow that
        last rule even without a separator. Applying it to its own output changes nothing.
    """
    tokens = [str(a) for a in argv]
    subcommand = next((t for t in tokens if not _is_option(t)), None)
    if subcommand not in SUBCOMMANDS:
        subcommand = None
    out: list[str] = []
    pending: str | None = None       # an option waiting for its value
    seen_subcommand = False
    only_positionals = False         # after "--"
    for token in tokens:
        if pending is not None:
            out.append(_option_value(pending, token))
            pending = None
        elif not only_positionals and token == "--":
            only_positionals = True
            out.append(token)
        elif not only_positionals and _is_option(token):
            name, equals, value = token.partition("=")
            option = _resolve_option(name)
            if equals:
                out.append(f"{name}={_option_value(option, value)}")
            else:
                out.append(name)
                if option not in VALUELESS_OPTIONS:
                    pending = option
        elif not seen_subcommand and token == subcommand:
            seen_subcommand = True
            out.append(token)
        elif subcommand in FOLDER_POSITIONAL:
            out.append(FOLDER_POSITIONAL[subcommand])
        elif subcommand == "predict" or _has_separator(token):
            out.append(_reduce_path(token, FOLDER_PLACEHOLDER))
        else:
            out.append(token)
    return " ".join([PROGRAM, *(shlex.quote(t) for t in out)])


def _split_command(text: str) -> list[str]:
    """Shell words of a recorded command. Raises ValueError for unbalanced quotes.

    POSIX rules unless the text holds an unquoted-looking Windows path: there a backslash is a
    separator, not an escape (``C:\\data`` must not become ``C:data``).
    """
    if "\\" not in text:
        return shlex.split(text)
    words = shlex.split(text, posix=False)
    return [w[1:-1] if len(w) >= 2 and w[0] == w[-1] and w[0] in "'\"" else w for w in words]


def _program_arguments(words: list[str]) -> list[str] | None:
    """The arguments of a ``pneumo-desktop …`` or ``python -m pneumo_desktop …`` command line
    (a sub-command or an option first), else None: other text is scrubbed as text."""
    arguments = None
    if words and _base_name(words[0]).lower() in (PROGRAM, PROGRAM + ".exe"):
        arguments = words[1:]
    elif len(words) >= 3 and words[1] == "-m" and words[2] == "pneumo_desktop":
        arguments = words[3:]
    if arguments and not (arguments[0] in SUBCOMMANDS or arguments[0].startswith("-")):
        return None
    return arguments


def _scrub_command(text: str) -> str:
    try:
        arguments = _program_arguments(_split_command(text))
    except ValueError:
        arguments = None
    return scrub_text(text) if arguments is None else portable_command(arguments)


# ----- any text ---------------------------------------------------------------------------------
def _replace_path(match: re.Match) -> str:
    path = match.group(0)
    trimmed = path.rstrip(_TRAILING_PUNCTUATION)
    if not trimmed or not _base_name(trimmed) or trimmed[-1] in "\\/":
        trimmed = path  # "/" alone or a folder ending in a separator: keep the whole match
    return _reduce_path(trimmed, TEXT_PLACEHOLDER) + path[len(trimmed):]


def scrub_text(text: str) -> str:
    """``text`` with every absolute or home-relative path replaced (see the module docstring).

    A text that starts with a path is taken to be one path as a whole, spaces included
    (``/data/Jane Doe`` -> ``<folder>``).
    """
    if _FULL_PATH_RE.match(text):
        return _reduce_path(text.strip(), TEXT_PLACEHOLDER)
    return _PATH_RE.sub(_replace_path, text)


# ----- metadata ---------------------------------------------------------------------------------
def _scrub_value(value, key: str | None):
    if isinstance(value, dict):
        return {scrub_text(k) if isinstance(k, str) else k: _scrub_value(v, k)
                for k, v in value.items() if k not in FOLDER_KEYS}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub_value(v, None) for v in value)
    if isinstance(value, str):
        return _scrub_command(value) if key in COMMAND_KEYS else scrub_text(value)
    return value  # numbers, booleans, None: immutable, shared safely


def scrub_metadata(metadata: dict) -> dict:
    """A deep copy of ``metadata`` (JSON-like: dicts, lists, strings, numbers) without paths.

    Folder-only keys (``FOLDER_KEYS``, at any depth) are removed; ``command`` values are made
    portable; every other string (dict keys included) has its absolute and home-relative paths
    replaced. The input is not modified. ``find_paths`` of the result is empty.
    """
    return _scrub_value(metadata, None)


def _command_leaks(text: str) -> bool:
    """Whether making ``text`` portable would change any of its words (quoting aside: a command
    written with other quotes than ``shlex.quote`` uses is not a leak)."""
    portable = _scrub_command(text)
    try:
        return _split_command(portable) != _split_command(text)
    except ValueError:
        return portable != text


def find_paths(metadata) -> list[str]:
    """The strings in ``metadata`` (at any depth, dict keys included) that name a folder of the
    machine: values under a folder-only key, ``command`` values that ``portable_command`` would
    change, and any string containing an absolute or home-relative path. In document order."""
    found: list[str] = []

    def walk(value, key) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and _PATH_RE.search(k):
                    found.append(k)
                if k in FOLDER_KEYS:
                    found.append(str(v))
                else:
                    walk(v, k)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, None)
        elif isinstance(value, str):
            if key in COMMAND_KEYS:
                if _command_leaks(value):
                    found.append(value)
            elif _PATH_RE.search(value):
                found.append(value)

    walk(metadata, None)
    return found
