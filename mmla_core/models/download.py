"""Download a model from the Hugging Face Hub into the usual HF cache: the one place that needs
the network (DESIGN rule 9: everything else resolves models offline).

`download_model` lists the repo's files with their sizes (`HfApi.model_info(files_metadata=True)`)
and fetches them one by one with `hf_hub_download`, so progress is reported per byte and a
`cancel` event is honoured between files and between chunks (through a `tqdm_class` hook). By
default only what transformers loads safely is fetched: top-level safetensors weights (just the
shards the index lists) plus config, tokenizer and processor files; pickle/ONNX/Flax/TF weights
are skipped. config.json comes first and is checked with the registry's own rules, so a repo
that needs remote code (or an unsupported architecture) is refused before any weights are read.

Resume is huggingface_hub's own: files already in the cache are skipped and a transient error
mid-file retries with an HTTP Range request; but the installed huggingface_hub deletes a file
interrupted by cancel/Ctrl+C, so a rerun resumes at the first unfinished *file*, not mid-file.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path

from tqdm.std import tqdm as _tqdm

from mmla_core.models.registry import ModelLoadError, detect_family

__all__ = ["DEFAULT_PATTERNS", "DownloadCancelled", "DownloadError", "download_model"]

DEFAULT_PATTERNS = ("*.safetensors", "*.json", "*.txt", "*.model", "*.tiktoken", "*.jinja")
SKIPPED = ("*.bin", "*.pt", "*.pth", "*.msgpack", "*.h5", "*.onnx", "*.ckpt", "*.gguf")
NO_NETWORK = "no network: download on a connected machine or copy the folder"
Progress = Callable[[int, int, str], None]  # (bytes done, bytes total, current file)


class DownloadError(ModelLoadError):
    """The download failed; the message says why and what to do."""


class DownloadCancelled(DownloadError):
    """The user cancelled; files already finished stay in the cache (a rerun resumes)."""


def download_model(repo_id: str, *, revision: str | None = None,
                   cache_dir: str | os.PathLike | None = None, progress: Progress | None = None,
                   cancel: threading.Event | None = None, allow_patterns=None,
                   allow_remote_code: bool = False) -> Path:
    """Fetch `repo_id` into the HF cache; returns the snapshot folder (the caller registers)."""
    import huggingface_hub as hub

    if os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE"):
        raise DownloadError(f"{repo_id}: {NO_NETWORK} (HF_HUB_OFFLINE is set)")
    try:
        info = hub.HfApi().model_info(repo_id, revision=revision, files_metadata=True)
    except Exception as exc:
        raise _explain(exc, repo_id, cache_dir) from exc
    sizes = {s.rfilename: int(getattr(s, "size", 0) or 0) for s in info.siblings or ()}
    rest, weights = _plan(sizes, allow_patterns, repo_id)
    fetcher = _Fetcher(repo_id, revision, cache_dir, progress, cancel or threading.Event(), sizes)
    fetcher.total = sum(sizes[f] for f in rest + weights)
    for name in rest:
        local = fetcher.fetch(name)
        if name == "config.json" and not allow_remote_code:
            _check_config(local, repo_id)
        if name == "model.safetensors.index.json" and allow_patterns is None:
            listed = _index_shards(local)
            fetcher.total -= sum(sizes[w] for w in weights if w not in listed)
            weights = [w for w in weights if w in listed]
    for name in weights:
        fetcher.fetch(name)
    if fetcher.snapshot is None:
        raise DownloadError(f"{repo_id}: nothing to download (no file matches the patterns)")
    return fetcher.snapshot


def _plan(sizes: dict[str, int], allow_patterns, repo_id: str) -> tuple[list[str], list[str]]:
    """(other files with config.json first, safetensors weights) to fetch, in order."""
    files = _select(list(sizes), allow_patterns)
    weights = [f for f in files if f.endswith(".safetensors")]
    if allow_patterns is None and not weights:
        pickled = [f for f in sizes if any(fnmatch(f, p) for p in SKIPPED)]
        only = f" (only {', '.join(pickled[:3])})" if pickled else ""
        raise DownloadError(f"{repo_id}: no *.safetensors weights{only}; MMLA Studio does not "
                            "download pickle weights by default")
    rest = sorted((f for f in files if f not in weights), key=lambda f: (f != "config.json", f))
    return rest, weights


class _Fetcher:
    """One `hf_hub_download` per file, with running byte counts and the cancel checks."""

    def __init__(self, repo_id, revision, cache_dir, progress, cancel, sizes) -> None:
        self.repo_id, self.revision, self.cache_dir = repo_id, revision, cache_dir
        self.progress, self.cancel, self.sizes = progress, cancel, sizes
        self.done = self.total = 0
        self.snapshot: Path | None = None

    def report(self, extra: int, name: str) -> None:
        if self.progress:
            self.progress(self.done + max(extra, 0), self.total, name)

    def fetch(self, name: str) -> Path:
        import huggingface_hub as hub

        if self.cancel.is_set():
            raise DownloadCancelled(f"{self.repo_id}: download cancelled before {name}")
        self.report(0, name)
        try:
            local = Path(hub.hf_hub_download(
                self.repo_id, name, revision=self.revision, cache_dir=self.cache_dir,
                tqdm_class=_hook(self, name)))
        except Exception as exc:
            if isinstance(exc, DownloadCancelled):
                raise
            raise _explain(exc, self.repo_id, self.cache_dir) from exc
        self.done += self.sizes[name]
        self.report(0, name)
        root = local.parents[len(Path(name).parts) - 1]
        if self.snapshot is not None and root != self.snapshot:
            raise DownloadError(f"{self.repo_id}: the repo changed during the download; "
                                "run it again")
        self.snapshot = root
        return local


def _select(names: list[str], allow_patterns) -> list[str]:
    if allow_patterns is not None:
        patterns = [allow_patterns] if isinstance(allow_patterns, str) else list(allow_patterns)
        return sorted(n for n in names if any(fnmatch(n, p) for p in patterns))
    return sorted(n for n in names if "/" not in n and any(fnmatch(n, p) for p in DEFAULT_PATTERNS)
                  and not any(fnmatch(n, p) for p in SKIPPED))


def _check_config(path: Path, repo_id: str) -> None:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DownloadError(f"{repo_id}: config.json unreadable ({exc})") from exc
    try:
        detect_family(config, repo_id)
    except ModelLoadError as exc:
        raise DownloadError(str(exc)) from exc


def _index_shards(path: Path) -> set[str]:
    try:
        return set(json.loads(path.read_text(encoding="utf-8"))["weight_map"].values())
    except (OSError, ValueError, KeyError) as exc:
        raise DownloadError(f"{path}: unreadable weights index ({exc})") from exc


def _hook(fetcher: _Fetcher, name: str) -> type:
    """A silent tqdm class huggingface_hub feeds chunk sizes: progress and cancel per chunk."""

    class _Hook(_tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.bytes = int(kwargs.get("initial") or 0)

        def update(self, n=1):
            if fetcher.cancel.is_set():
                raise DownloadCancelled(f"{fetcher.repo_id}: download cancelled during {name}")
            self.bytes += n or 0
            fetcher.report(self.bytes, name)

    return _Hook


def _explain(exc: Exception, repo_id: str, cache_dir) -> DownloadError:
    from huggingface_hub import errors

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, errors.GatedRepoError) or status in (401, 403):
        return DownloadError(
            f"gated or missing repo {repo_id}: accept its licence on huggingface.co and log in "
            f"(`hf auth login`), or check the id ({exc.__class__.__name__})")
    if isinstance(exc, errors.RepositoryNotFoundError | errors.RevisionNotFoundError) or \
            status == 404:
        return DownloadError(f"gated or missing repo {repo_id}: no such repo or revision, or "
                             "it is private/gated (log in with `hf auth login`)")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = cache_dir or os.environ.get("HF_HUB_CACHE") or "the Hugging Face cache"
        return DownloadError(f"{repo_id}: disk full while writing to {where}; free space "
                             "(or set HF_HUB_CACHE elsewhere) and run again to resume")
    if isinstance(exc, errors.OfflineModeIsEnabled | errors.LocalEntryNotFoundError |
                  ConnectionError | TimeoutError) or _is_transport_error(exc):
        return DownloadError(f"{repo_id}: {NO_NETWORK} ({exc.__class__.__name__})")
    return DownloadError(f"{repo_id}: download failed: {exc}")


def _is_transport_error(exc: Exception) -> bool:
    """httpx's connect/timeout/protocol errors (huggingface_hub 2.x ships them as httpx2)."""
    return any(cls.__name__ == "TransportError" for cls in type(exc).__mro__)
