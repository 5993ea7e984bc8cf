"""`mmla models download` / `download_model` against a fake Hugging Face Hub (never the network).

`HfApi.model_info` and `hf_hub_download` are replaced by fakes that write into a temp cache laid
out like huggingface_hub's (models--ORG--NAME/snapshots/<commit>/...) and feed the `tqdm_class`
they are given in chunks, as the real http_get does.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest
from huggingface_hub import errors

from mmla_core.cli import main
from mmla_core.models.download import NO_NETWORK, DownloadCancelled, DownloadError, download_model
from mmla_core.store.db import open_store

REPO = "acme/tiny-qwen"
COMMIT = "0123abcd" * 5
CONFIG = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}


def safetensors_bytes(n: int = 4) -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * (4 * n)


def repo_files(config: dict | None = None) -> dict[str, bytes]:
    return {
        "config.json": json.dumps(config or CONFIG).encode(),
        "tokenizer.json": b"{}", "tokenizer_config.json": b"{}", "merges.txt": b"a b\n",
        "generation_config.json": b"{}", "README.md": b"# hi",
        "model.safetensors": safetensors_bytes(64),
        "pytorch_model.bin": b"pickle!" * 10, "model.onnx": b"onnx", "flax_model.msgpack": b"m",
        "tf_model.h5": b"h5", "onnx/decoder.safetensors": safetensors_bytes(),
    }


class FakeHub:
    """The two huggingface_hub calls download_model makes, with a log of what was fetched."""

    def __init__(self, files: dict[str, bytes], cache: Path) -> None:
        self.files, self.cache = files, cache
        self.fetched: list[str] = []
        self.info_error: Exception | None = None
        self.fetch_error: dict[str, BaseException] = {}
        self.chunk = 16

    def model_info(self, repo_id, *, revision=None, files_metadata=False, **_):
        assert files_metadata, "sizes are needed for progress"
        if self.info_error is not None:
            raise self.info_error
        siblings = [SimpleNamespace(rfilename=n, size=len(b)) for n, b in self.files.items()]
        return SimpleNamespace(id=repo_id, sha=COMMIT, siblings=siblings)

    def hf_hub_download(self, repo_id, filename, *, revision=None, cache_dir=None,
                        tqdm_class=None, **_):
        if filename in self.fetch_error:
            raise self.fetch_error[filename]
        root = Path(cache_dir or self.cache) / f"models--{repo_id.replace('/', '--')}"
        target = root / "snapshots" / COMMIT / filename
        data = self.files[filename]
        if not target.exists():
            bar = tqdm_class(total=len(data), initial=0, desc=filename, unit="B")
            for start in range(0, len(data), self.chunk):
                bar.update(len(data[start:start + self.chunk]))
            bar.close()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self.fetched.append(filename)
        return str(target)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture
def hub(tmp_path, monkeypatch) -> FakeHub:
    fake = FakeHub(repo_files(), tmp_path / "hf-cache")
    monkeypatch.setenv("HF_HUB_CACHE", str(fake.cache))
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda *a, **k: fake)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake.hf_hub_download)
    return fake


def test_fetches_config_first_then_files_then_weights_with_progress(hub):
    calls = []
    path = download_model(REPO, progress=lambda d, t, n: calls.append((d, t, n)))
    assert hub.fetched == ["config.json", "generation_config.json", "merges.txt",
                           "tokenizer.json", "tokenizer_config.json", "model.safetensors"]
    assert path == hub.cache / "models--acme--tiny-qwen" / "snapshots" / COMMIT
    assert (path / "model.safetensors").read_bytes() == hub.files["model.safetensors"]
    total = sum(len(hub.files[n]) for n in hub.fetched)
    assert {t for _, t, _ in calls} == {total}
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and done[0] == 0 and done[-1] == total
    weights_calls = [d for d, _, n in calls if n == "model.safetensors"]
    assert len(weights_calls) > 4, "progress is reported per chunk, not just per file"


def test_default_patterns_skip_pickle_onnx_flax_tf_and_subfolders(hub):
    download_model(REPO)
    for skipped in ("pytorch_model.bin", "model.onnx", "flax_model.msgpack", "tf_model.h5",
                    "onnx/decoder.safetensors", "README.md"):
        assert skipped not in hub.fetched


def test_explicit_patterns_fetch_what_is_asked(hub):
    path = download_model(REPO, allow_patterns=["config.json", "*.bin"])
    assert hub.fetched == ["config.json", "pytorch_model.bin"]
    assert (path / "pytorch_model.bin").is_file()


def test_only_the_shards_the_index_lists_are_fetched(hub):
    hub.files.pop("model.safetensors")
    hub.files["model-00001-of-00002.safetensors"] = safetensors_bytes()
    hub.files["model-00002-of-00002.safetensors"] = safetensors_bytes()
    hub.files["consolidated.safetensors"] = safetensors_bytes(256)  # a duplicate copy
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors",
                            "b": "model-00002-of-00002.safetensors"}}
    hub.files["model.safetensors.index.json"] = json.dumps(index).encode()
    calls = []
    download_model(REPO, progress=lambda d, t, n: calls.append((d, t)))
    assert "consolidated.safetensors" not in hub.fetched
    assert hub.fetched[-2:] == ["model-00001-of-00002.safetensors",
                                "model-00002-of-00002.safetensors"]
    assert calls[-1][0] == calls[-1][1], "the skipped shard leaves the total"


def test_only_pickle_weights_are_refused_before_fetching(hub):
    hub.files.pop("model.safetensors")
    with pytest.raises(DownloadError, match=r"no \*\.safetensors weights.*pytorch_model\.bin"):
        download_model(REPO)
    assert hub.fetched == []


def test_cancel_between_files_raises_and_keeps_finished_files(hub):
    cancel = threading.Event()
    two_files = len(hub.files["config.json"]) + len(hub.files["generation_config.json"])

    def progress(done, total, name):
        if name == "generation_config.json" and done == two_files:  # its "finished" report
            cancel.set()

    with pytest.raises(DownloadCancelled, match=r"cancelled before merges\.txt"):
        download_model(REPO, progress=progress, cancel=cancel)
    assert hub.fetched == ["config.json", "generation_config.json"]
    hub.fetched.clear()
    path = download_model(REPO)  # a rerun resumes: the cache already holds the first two
    assert (path / "model.safetensors").is_file()


def test_cancel_during_a_file_stops_at_the_next_chunk(hub):
    cancel = threading.Event()

    def progress(done, total, name):
        if name == "model.safetensors" and done > total - 100:
            cancel.set()

    with pytest.raises(DownloadCancelled, match=r"during model\.safetensors"):
        download_model(REPO, progress=progress, cancel=cancel)
    assert "model.safetensors" not in hub.fetched


def test_offline_env_is_a_clear_error(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError, match=NO_NETWORK):
        download_model(REPO)


@pytest.mark.parametrize("exc", [errors.OfflineModeIsEnabled("offline"),
                                 ConnectionError("unreachable"),
                                 errors.LocalEntryNotFoundError("no connection")])
def test_connection_errors_say_no_network(hub, exc):
    hub.info_error = exc
    with pytest.raises(DownloadError, match=NO_NETWORK):
        download_model(REPO)


def test_httpx_transport_errors_say_no_network(hub):
    httpx = pytest.importorskip("httpx2")
    hub.fetch_error["model.safetensors"] = httpx.ConnectError("connect failed")
    with pytest.raises(DownloadError, match=NO_NETWORK):
        download_model(REPO)


def _response(status: int):
    httpx = pytest.importorskip("httpx2")
    return httpx.Response(status, request=httpx.Request("GET", "https://huggingface.co/x"))


@pytest.mark.parametrize("status, cls", [(404, errors.RepositoryNotFoundError),
                                         (401, errors.GatedRepoError)])
def test_missing_or_gated_repo(hub, status, cls):
    hub.info_error = cls(f"{status} Client Error", response=_response(status))
    with pytest.raises(DownloadError, match=f"gated or missing repo {REPO}"):
        download_model(REPO)


def test_disk_full(hub):
    import errno

    hub.fetch_error["model.safetensors"] = OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(DownloadError, match="disk full"):
        download_model(REPO)


def test_remote_code_repo_is_refused_before_the_weights(hub):
    hub.files["config.json"] = json.dumps({**CONFIG, "auto_map": {"AutoModel": "x.Y"}}).encode()
    with pytest.raises(DownloadError, match="trust_remote_code"):
        download_model(REPO)
    assert hub.fetched == ["config.json"]
    download_model(REPO, allow_remote_code=True)
    assert "model.safetensors" in hub.fetched


# --- the CLI ----------------------------------------------------------------------------------


def _models(db: Path) -> list[dict]:
    with open_store(db) as store:
        return store.query("SELECT name, family, path FROM models")


def test_cli_download_registers_the_model(hub, tmp_path, capsys):
    db = tmp_path / "p.sqlite"
    assert main(["--db", str(db), "models", "download", REPO, "--name", "tq"]) == 0
    [row] = _models(db)
    assert row["name"] == "tq" and row["family"] == "text_lm"
    assert row["path"].endswith(f"snapshots/{COMMIT}")
    assert "model 'tq'" in capsys.readouterr().out


def test_cli_ctrl_c_registers_nothing(hub, tmp_path, capsys):
    hub.fetch_error["merges.txt"] = KeyboardInterrupt()
    db = tmp_path / "p.sqlite"
    assert main(["--db", str(db), "models", "download", REPO]) == 130
    assert _models(db) == []
    assert "run it again to resume" in capsys.readouterr().err
    del hub.fetch_error["merges.txt"]
    assert main(["--db", str(db), "models", "download", REPO]) == 0
    assert [r["name"] for r in _models(db)] == ["tiny-qwen"]


def test_cli_errors_are_one_line(hub, tmp_path, capsys):
    hub.info_error = errors.RepositoryNotFoundError("404", response=_response(404))
    assert main(["--db", str(tmp_path / "p.sqlite"), "models", "download", "acme/nope"]) == 1
    assert "gated or missing repo acme/nope" in capsys.readouterr().err
