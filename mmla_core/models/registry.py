"""Model families, where a model lives, what it is, and its weights hash, without torch.

A model is a local folder or a Hugging Face cache id (resolved offline only: DESIGN rule 9).
Its family comes from `config.json` (`architectures` first, then `model_type`); everything here
reads files only, so `mmla models add` and the GUI's "Add model" can validate a folder in
milliseconds and without importing torch.

Weights hash ("wh1"): sha256 over the weight files sorted by name. Per file it takes the name
and size, then for safetensors the header (tensor names, dtypes, shapes, offsets) plus three
64 KiB samples of the tensor data (start, middle, end); files up to 32 MiB are hashed whole.
The header alone would give a base model and its fine-tune the same hash; the samples tell them
apart while reading ~200 KiB per multi-GB shard, so hashing a 7B model takes milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from mmla_core.models.processor_files import UnreadableProcessorFile, processor_problems
from mmla_core.models.safetensors_check import check_safetensors
from mmla_core.paths import PathEscapeError, confine

__all__ = [
    "FAMILIES",
    "TINY_MARKER",
    "Family",
    "ModelCheck",
    "ModelLoadError",
    "detect_family",
    "inspect_model",
    "is_random_weights",
    "read_config",
    "resolve_model_path",
    "weight_files",
    "weights_hash",
]

TINY_MARKER = "mmla_tiny.json"  # written by tiny.build_tiny: predictions are random_weights
RANDOM_FLAG = "mmla_random_weights"  # the same flag inside config.json
FULL_HASH_LIMIT = 32 * 1024 * 1024
SAMPLE_BYTES = 64 * 1024
HASH_SCHEME = "wh1"


class ModelLoadError(Exception):
    """A model that cannot be used; the message names the folder, the problem and what to do."""


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    hears_audio: bool
    sees_video: bool
    architectures: tuple[str, ...]
    model_types: tuple[str, ...]


FAMILIES: dict[str, Family] = {
    "qwen2_5_omni": Family(
        "qwen2_5_omni", "Qwen2.5-Omni thinker (video + audio + text)", True, True,
        ("Qwen2_5OmniThinkerForConditionalGeneration", "Qwen2_5OmniForConditionalGeneration",
         "Qwen2_5OmniModel"),  # the last: the name in the first released config.json
        ("qwen2_5_omni_thinker", "qwen2_5_omni")),
    "qwen2_vl": Family(
        "qwen2_vl", "Qwen2-VL (video + text)", False, True,
        ("Qwen2VLForConditionalGeneration",), ("qwen2_vl",)),
    "qwen2_5_vl": Family(
        "qwen2_5_vl", "Qwen2.5-VL (video + text)", False, True,
        ("Qwen2_5_VLForConditionalGeneration",), ("qwen2_5_vl",)),
    "text_lm": Family(
        "text_lm", "Text-only causal LM (Qwen2-style)", False, False,
        ("Qwen2ForCausalLM", "Qwen3ForCausalLM", "LlamaForCausalLM", "MistralForCausalLM"),
        ("qwen2", "qwen3", "llama", "mistral")),
}
_SAFE_NAMES = ("model.safetensors", "model.safetensors.index.json")
_PICKLE_NAMES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.bin")


@dataclass(frozen=True)
class ModelCheck:
    """What `inspect_model` found: enough to register a model without loading it."""

    path: Path
    family: str
    config: dict
    weight_files: tuple[Path, ...]
    weights_format: str  # safetensors | pickle
    random_weights: bool
    weights_hash: str
    notes: tuple[str, ...] = field(default=())


def resolve_model_path(ref: str | os.PathLike) -> Path:
    """A local folder as is, else a Hugging Face id found in the local cache (never the network)."""
    path = Path(ref).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{path}: is a file; give the model's folder (with config.json)")
        return path.resolve()
    text = str(ref)
    if text.count("/") != 1 or text.startswith((".", "/", "~")):
        raise ModelLoadError(
            f"{text}: no such folder. Give a model folder (config.json + *.safetensors) or a "
            "Hugging Face id that is already in the local cache (e.g. Qwen/Qwen2.5-Omni-3B)")
    return _from_hf_cache(text)


def _from_hf_cache(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # any failure means "not in the cache": try the cache layout by hand
        pass
    found = _cache_layout_snapshot(repo_id)
    if found is None:
        raise ModelLoadError(
            f"{repo_id}: not a folder and not in the Hugging Face cache "
            f"({_hf_cache_dir()}). Download it once with `hf download {repo_id}` "
            "on a machine with network access, or give the model's local folder")
    return found


def _hf_cache_dir() -> Path:
    env = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if env:
        return Path(env)
    default = os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    home = os.environ.get("HF_HOME") or default
    return Path(home) / "hub"


def _cache_layout_snapshot(repo_id: str) -> Path | None:
    """models--ORG--NAME/snapshots/<commit>: the one refs/main names, else the newest."""
    root = _hf_cache_dir() / f"models--{repo_id.replace('/', '--')}"
    snapshots = root / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = root / "refs" / "main"
    if ref.is_file() and (snapshots / ref.read_text().strip()).is_dir():
        return snapshots / ref.read_text().strip()
    candidates = sorted((p for p in snapshots.iterdir() if p.is_dir()),
                        key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def read_config(path: Path) -> dict:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelLoadError(
            f"{path}: no config.json. This is not a Hugging Face model folder; pick the folder "
            "that holds config.json and the *.safetensors weights")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{config_file}: unreadable ({exc}); re-download the model") from exc
    if not isinstance(config, dict):
        raise ModelLoadError(f"{config_file}: must hold a JSON object, got "
                             f"{type(config).__name__}; re-download the model")
    return config


def detect_family(config: dict, path: Path | str = "model") -> str:
    """The family from `architectures`, else `model_type`; refuses remote code and unknowns."""
    if config.get("auto_map"):
        raise ModelLoadError(
            f"{path}: config.json has an auto_map, i.e. the model needs its own Python code "
            "(trust_remote_code). MMLA Studio never runs code shipped with weights; use a "
            "model that transformers supports natively (Qwen2.5-Omni, Qwen2-VL, Qwen2.5-VL, Qwen2)")
    architectures = config.get("architectures") or ()
    model_type = config.get("model_type") or ""
    if not isinstance(architectures, list | tuple) or not all(
            isinstance(a, str) for a in architectures):
        raise ModelLoadError(f"{path}: config.json's architectures must be a list of class "
                             f"names, got {architectures!r}")
    if not isinstance(model_type, str):
        raise ModelLoadError(f"{path}: config.json's model_type must be a string, got "
                             f"{model_type!r}")
    architectures = tuple(architectures)
    for family in FAMILIES.values():
        if any(a in family.architectures for a in architectures):
            return family.name
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family.name
    shown = ", ".join(architectures) or model_type or "nothing"
    known = "; ".join(f"{f.name}: {', '.join(f.architectures)}" for f in FAMILIES.values())
    raise ModelLoadError(
        f"{path}: unsupported architecture ({shown}). Supported families: {known}")


def weight_files(path: Path, *, allow_pickle: bool = False) -> tuple[list[Path], str]:
    """The weight files a folder loads from and their format; refuses pickle unless allowed."""
    safe = _listed_or_globbed(path, "model.safetensors.index.json", "*.safetensors")
    safe = [p for p in safe if not p.name.startswith("adapter_")]
    if safe:
        return safe, "safetensors"
    pickled = _listed_or_globbed(path, "pytorch_model.bin.index.json", "*.bin")
    pickled += sorted(p for p in path.glob("*.pt") if p.is_file())
    pickled = [p for p in pickled if p.name not in ("training_args.bin",)]
    if pickled and not allow_pickle:
        raise ModelLoadError(
            f"{path}: only pickle weights ({', '.join(p.name for p in pickled[:3])}); pickle can "
            "run arbitrary code when loaded, so it is refused. Convert the weights to "
            "safetensors, or allow pickle for this model (--allow-pickle / the checkbox in "
            "Add model) if you trust where it came from")
    if pickled:
        return pickled, "pickle"
    raise ModelLoadError(
        f"{path}: no weights (no *.safetensors or pytorch_model.bin). The download may be "
        "incomplete; download the model again or pick the folder that holds the weights")


def _listed_or_globbed(path: Path, index_name: str, pattern: str) -> list[Path]:
    index = path / index_name
    if index.is_file():
        names = _index_shards(index)
        files = [_confined_shard(path, index, n) for n in names]
        missing = [n for n, f in zip(names, files, strict=True) if not f.is_file()]
        if missing:
            raise ModelLoadError(
                f"{path}: weight shards missing ({', '.join(missing[:3])}); the download is "
                "incomplete, download the model again")
        return files
    return sorted(p for p in path.glob(pattern) if p.is_file())


def _index_shards(index: Path) -> list[str]:
    """The shard file names a weights index maps tensors to; refuses any other shape."""
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{index}: unreadable weights index ({exc})") from exc
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise ModelLoadError(f"{index}: weights index without a weight_map object "
                             "({tensor name: shard file}); download the model again")
    bad = [v for v in weight_map.values() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ModelLoadError(f"{index}: weight_map values must be shard file names, got "
                             f"{bad[0]!r}")
    return sorted(set(weight_map.values()))


def _confined_shard(path: Path, index: Path, name: str) -> Path:
    """A shard named by the index, inside the model folder (never `/etc/...` or `../`)."""
    try:
        return confine(path, name)
    except PathEscapeError as exc:
        raise ModelLoadError(f"{index}: shard {name!r} is outside the model folder ({exc}); "
                             "refused") from exc


def weights_hash(files: list[Path]) -> str:
    """`wh1:<sha256>` over the files (see the module docstring for what is read)."""
    digest = hashlib.sha256(HASH_SCHEME.encode())
    for file in sorted(files, key=lambda p: p.name):
        size = file.stat().st_size
        digest.update(f"\0{file.name}\0{size}\0".encode())
        with open(file, "rb") as handle:
            if size <= FULL_HASH_LIMIT:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            else:
                _hash_sampled(handle, size, file.suffix == ".safetensors", digest)
    return f"{HASH_SCHEME}:{digest.hexdigest()}"


def _hash_sampled(handle, size: int, is_safetensors: bool, digest) -> None:
    start = 0
    if is_safetensors:
        raw = handle.read(8)
        (header_len,) = struct.unpack("<Q", raw)
        digest.update(raw + handle.read(header_len))
        start = 8 + header_len
    for offset in (start, start + (size - start) // 2, size - SAMPLE_BYTES):
        handle.seek(max(start, offset))
        digest.update(handle.read(SAMPLE_BYTES))


def is_random_weights(path: Path, config: dict | None = None) -> bool:
    """True for models built by `build_tiny` (marker file or config flag)."""
    config = config if config is not None else read_config(path)
    return (path / TINY_MARKER).is_file() or bool(config.get(RANDOM_FLAG))


def inspect_model(ref: str | os.PathLike, *, allow_pickle: bool = False) -> ModelCheck:
    """Validate a model folder from its files (config, family, weights index, hash)."""
    path = resolve_model_path(ref)
    config = read_config(path)
    family = detect_family(config, path)
    files, fmt = weight_files(path, allow_pickle=allow_pickle)
    check_tokenizer_files(path)
    check_processor_fits(path, family, config)
    notes = []
    if fmt == "safetensors":
        for file in files:
            _check_safetensors_header(file)
    else:
        notes.append("pickle weights allowed by the user")
    return ModelCheck(path, family, config, tuple(files), fmt, is_random_weights(path, config),
                      weights_hash(files), tuple(notes))


TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer.model")


def check_processor_fits(path: Path, family: str, config: dict) -> None:
    """Refuse a processor that cannot feed the model (processor_files), at registration rather
    than as a shape error at the first forward."""
    try:
        problems = processor_problems(path, family, config)
    except UnreadableProcessorFile as exc:
        raise ModelLoadError(str(exc)) from exc
    if problems:
        raise ModelLoadError(
            f"{path}: the processor does not fit the model: {'; '.join(problems)}. The processor "
            "files (processor_config.json / preprocessor_config.json) belong to another "
            "checkpoint: copy the ones that came with these weights")


def check_tokenizer_files(path: Path) -> None:
    """Refuse a folder without tokenizer files: transformers would build an empty tokenizer
    and every prompt would encode to no tokens."""
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(
            f"{path}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); the folder needs "
            "tokenizer.json or vocab.json + merges.txt: download the model again")


def _check_safetensors_header(file: Path) -> None:
    try:
        check_safetensors(file)
    except (OSError, ValueError, struct.error) as exc:
        raise ModelLoadError(
            f"{file}: not a readable safetensors file ({exc}); the download may be truncated, "
            "download the model again") from exc
