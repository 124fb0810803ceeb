"""Files as the checks see them: each YAML or JSON document with the line of every key, or a text.

A YAML file is read once with PyYAML's node graph kept, so a finding about
`spec.template.spec.containers[0].livenessProbe` names the line that key is on.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Key = str | int
STDIN = Path("-")  # as a path given: read the documents from standard input
YAML_SUFFIXES = (".yaml", ".yml")
TEXT_SUFFIXES = (".sh", ".bash", ".md", ".txt")
# libyaml's loader where PyYAML was built with it: the same nodes and marks, several times faster.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SKIPPED_FOLDERS = {
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}


class Unreadable(ValueError):
    """A file that cannot be read as what its name says it is; the message says why."""


@dataclass
class Document:
    path: Path
    index: int  # its place in a multi-document file
    data: Any  # the parsed document; None for a text (a script, a plan)
    text: str  # the whole file's text
    lines: dict[tuple[Key, ...], int] = field(default_factory=dict)  # key path -> 1-based line
    kinds: list[str] = field(default_factory=list)  # every kind that recognised it

    def line(self, *at: Key) -> int:
        """The line of the deepest key of `at` the document has; the document's first line otherwise."""
        for depth in range(len(at), -1, -1):
            if at[:depth] in self.lines:
                return self.lines[at[:depth]]
        return 1

    def get(self, *at: Key, default: Any = None) -> Any:
        """The value at a key path, or `default` where any step is missing."""
        value = self.data
        for key in at:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return default
        return value

    @property
    def api_kind(self) -> tuple[str, str] | None:
        """(apiVersion, kind) of a Kubernetes-style object, else None."""
        if isinstance(self.data, dict):
            api, kind = self.data.get("apiVersion"), self.data.get("kind")
            if isinstance(api, str) and isinstance(kind, str):
                return api, kind
        return None

    @property
    def name(self) -> str:
        return str(self.get("metadata", "name", default=""))


def _node_lines(node: yaml.Node, at: tuple[Key, ...], lines: dict[tuple[Key, ...], int]) -> None:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*at, key.value)
            lines[child] = key.start_mark.line + 1
            _node_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _node_lines(item, (*at, position), lines)


def yaml_documents(path: Path, text: str) -> list[Document]:
    loader = LOADER(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            assert node is not None  # check_node() said there is one
            data = loader.construct_document(node)
            if data is None:
                continue
            lines: dict[tuple[Key, ...], int] = {}
            _node_lines(node, (), lines)
            documents.append(Document(path, len(documents), data, text, lines))
    except yaml.YAMLError as error:
        raise Unreadable(f"not YAML: {' '.join(str(error).split())}") from None
    finally:
        loader.dispose()
    return documents


def json_document(path: Path, text: str) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise Unreadable(f"not JSON: {error}") from None
    return Document(path, 0, data, text)


def _is_script(path: Path, text: str) -> bool:
    first = text.split("\n", 1)[0]
    return path.suffix in TEXT_SUFFIXES or (first.startswith("#!") and "sh" in first.rsplit("/", 1)[-1])


def is_helm_template(path: Path) -> bool:
    """A chart's template is Go text/template, not YAML yet: `helm template CHART | tronops lint -`."""
    return path.parent.name == "templates" and (path.parent.parent / "Chart.yaml").is_file()


def read(path: Path) -> list[Document]:
    """The documents of one file (`-`: YAML or JSON on stdin); [] for a file of no type the linter
    reads, or a Helm template (skipped, not an error)."""
    if path == STDIN:
        text = sys.stdin.read()
        return [json_document(path, text)] if text.lstrip().startswith("{") else yaml_documents(path, text)
    if is_helm_template(path):
        return []
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise Unreadable(f"cannot read: {error.strerror}") from None
    if b"\0" in raw[:4096]:
        return []
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8 text") from None
    if path.suffix in YAML_SUFFIXES:
        return yaml_documents(path, text)
    if path.suffix == ".json":
        return [json_document(path, text)]
    if _is_script(path, text):
        return [Document(path, 0, None, text)]
    return []


def expand(paths: Sequence[Path]) -> Iterator[Path]:
    """Every file under the paths given, folders walked in name order; hidden and cache folders left out.
    A path that does not exist raises Unreadable."""
    for path in paths:
        if path.is_file() or path == STDIN:
            yield path
        elif path.is_dir():
            for folder, subfolders, files in os.walk(path):
                subfolders[:] = sorted(
                    d for d in subfolders if d not in SKIPPED_FOLDERS and not d.startswith(".")
                )
                yield from (Path(folder) / name for name in sorted(files))
        else:
            raise Unreadable(f"{path}: no such file or folder")
