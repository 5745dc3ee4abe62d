"""OnnxEstimator: configured by metadata, checks the graph, every input layout, fp16, provider fallback, bad files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from inference.core.errors import ModelError
from inference.core.frame import HandCrop
from inference.runtime import estimator as estimator_module
from inference.runtime.estimator import Estimator, OnnxEstimator, default_model_path, resolve_providers
from tests.helpers.tiny_models import make_corrupt_model, make_tiny_model, make_wrong_shape_model

LAYOUTS = ("depth", "rgb", "rgbd", "depth+rgb")


def _crop(seed: int = 0, size: int = 128, rgb: bool = True) -> HandCrop:
    rng = np.random.default_rng(seed)
    return HandCrop(
        depth=rng.uniform(-1, 1, (size, size)).astype(np.float32),
        rgb=rng.normal(0, 1, (3, size, size)).astype(np.float32) if rgb else None,
        com_uvd=np.array([320.0, 240.0, 600.0]), com_xyz_mm=np.array([0.0, 0.0, 600.0]), cube_mm=300.0,
        mask=np.ones((size, size), bool), window_px=(0.0, 0.0, 1.0, 1.0),
    )


def _direct(path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0].reshape(-1, 3)


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_feeds_the_right_tensors(tmp_path: Path, layout: str, fp16: bool) -> None:
    path = make_tiny_model(tmp_path / "m.onnx", layout=layout, fp16=fp16, seed=3)
    est = OnnxEstimator(path, providers="cpu")
    assert isinstance(est, Estimator)
    assert est.provider == "CPUExecutionProvider"
    assert est.metadata.input_layout == layout and est.metadata.cube_mm == 300.0
    crop = _crop(1)
    out = est.predict(crop)
    assert out.shape == (14, 3) and out.dtype == np.float32 and np.isfinite(out).all()
    # the same numbers as feeding onnxruntime by hand, channels in the documented order (depth first)
    dtype = np.float16 if fp16 else np.float32
    depth, rgb = crop.depth[None, None].astype(dtype), crop.rgb[None].astype(dtype)
    feeds = {"depth": {"depth": depth}, "rgb": {"rgb": rgb}, "rgbd": {"rgbd": np.concatenate([depth, rgb], axis=1)},
             "depth+rgb": {"depth": depth, "rgb": rgb}}[layout]
    np.testing.assert_allclose(out, _direct(path, feeds), rtol=0, atol=1e-6)
    # a different crop gives a different answer (the input really reaches the network)
    assert not np.allclose(est.predict(_crop(2)), out)


def test_rgb_model_without_colour_is_a_clear_error(tmp_path: Path) -> None:
    est = OnnxEstimator(make_tiny_model(tmp_path / "m.onnx", layout="depth+rgb"), providers="cpu")
    with pytest.raises(ModelError, match="needs RGB"):
        est.predict(_crop(rgb=False))


def test_input_size_comes_from_the_metadata(tmp_path: Path) -> None:
    est = OnnxEstimator(make_tiny_model(tmp_path / "m.onnx", input_size=96), providers="cpu")
    assert est.metadata.input_size == 96
    assert est.predict(_crop(size=96)).shape == (14, 3)
    with pytest.raises(ModelError, match="96x96"):
        est.predict(_crop(size=128))


def test_wrong_shape_model_names_what_is_expected(tmp_path: Path) -> None:
    path = make_wrong_shape_model(tmp_path / "wrong.onnx")
    with pytest.raises(ModelError) as info:
        OnnxEstimator(path, providers="cpu")
    message = str(info.value)
    assert str(path) in message and "expected depth (1, 1, 128, 128)" in message and "64" in message


def test_wrong_joint_count_is_rejected(tmp_path: Path) -> None:
    from tests.helpers.tiny_models import tiny_metadata

    path = make_tiny_model(tmp_path / "j.onnx", joints=10, metadata=tiny_metadata(joints=14))
    with pytest.raises(ModelError, match="'joints' \\(1, 42\\)"):
        OnnxEstimator(path, providers="cpu")


def test_metadata_less_model_is_rejected(tmp_path: Path) -> None:
    path = make_tiny_model(tmp_path / "plain.onnx", metadata=False)
    with pytest.raises(ModelError, match="not a handpose model"):
        OnnxEstimator(path, providers="cpu")


def test_corrupt_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        OnnxEstimator(make_corrupt_model(tmp_path / "half.onnx"), providers="cpu")
    with pytest.raises(ModelError, match="model file not found"):
        OnnxEstimator(tmp_path / "absent.onnx")


def test_provider_that_silently_fails_falls_back_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """onnxruntime given a provider it cannot load quietly runs on CPU; the estimator notices."""
    path = make_tiny_model(tmp_path / "m.onnx")
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    with caplog.at_level(logging.INFO, logger="inference.runtime.estimator"):
        est = OnnxEstimator(path, providers="auto")
    assert est.provider == "CPUExecutionProvider"
    records = [r for r in caplog.records if r.name == "inference.runtime.estimator"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert "inference on CPU" in records[0].message and "CUDA failed to initialise" in records[0].message
    assert est.predict(_crop()).shape == (14, 3)


def test_provider_that_raises_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_tiny_model(tmp_path / "m.onnx")
    real_session = ort.InferenceSession

    def session(model: str, sess_options: object = None, providers: list = ()) -> object:
        if providers[0][0] == "TensorrtExecutionProvider":
            raise RuntimeError("TensorRT EP could not create engine: libnvinfer.so.10 missing")
        return real_session(model, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["TensorrtExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", session)
    monkeypatch.setattr(estimator_module, "_provider_options", lambda provider: {})
    est = OnnxEstimator(path)
    assert est.provider == "CPUExecutionProvider"
    assert any("Tensorrt failed to initialise (TensorRT EP could not create engine" in f for f in est.fallbacks)


def test_unavailable_provider_asked_by_name_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="inference.runtime.estimator"):
        est = OnnxEstimator(make_tiny_model(tmp_path / "m.onnx"), providers="tensorrt")
    assert est.provider == "CPUExecutionProvider"
    assert [r.levelno for r in caplog.records if r.name == "inference.runtime.estimator"] == [logging.WARNING]
    assert "Tensorrt not available" in caplog.text


def test_auto_on_a_cpu_build_logs_one_info_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if set(ort.get_available_providers()) & {"CUDAExecutionProvider", "TensorrtExecutionProvider"}:
        pytest.skip("this onnxruntime has a GPU provider")
    with caplog.at_level(logging.INFO, logger="inference.runtime.estimator"):
        OnnxEstimator(make_tiny_model(tmp_path / "m.onnx"))
    records = [r for r in caplog.records if r.name == "inference.runtime.estimator"]
    assert [r.levelno for r in records] == [logging.INFO] and "inference on CPU" in records[0].message


def test_resolve_providers() -> None:
    assert resolve_providers("auto") == ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(["cpu"]) == ["CPUExecutionProvider"]


def test_default_model_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HANDPOSE_MODEL", raising=False)
    root = Path(__file__).resolve().parents[2]  # this checkout
    assert default_model_path() == root / "models" / "depthnet.onnx"
    assert default_model_path("rgbd") == root / "models" / "fusenet.onnx"
    monkeypatch.setenv("HANDPOSE_MODEL", str(tmp_path / "mine.onnx"))
    assert default_model_path() == tmp_path / "mine.onnx"
    with pytest.raises(ValueError, match="kind"):
        default_model_path("infrared")


def test_an_empty_file_or_a_folder_is_named_as_such(tmp_path: Path) -> None:
    """Issue 16: a 0-byte .onnx is not a provider problem; a folder is not a missing file."""
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match=r"empty\.onnx: empty file \(0 bytes\), not an ONNX model"):
        OnnxEstimator(empty, providers="cpu")
    with pytest.raises(ModelError, match=r"is a folder, not an \.onnx model file"):
        OnnxEstimator(tmp_path, providers="cpu")
