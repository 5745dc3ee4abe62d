"""ONNX export: metadata, input layouts, onnxruntime vs torch parity, fp16/int8, the torch backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from inference.core.errors import HandposeError, ModelError
from inference.core.frame import HandCrop
from inference.core.geometry import NYU_INTRINSICS
from inference.formats.nyu_io import read_depth_png, read_rgb_png
from inference.preprocess.crop import make_crop
from inference.preprocess.segmentation import segment_hand
from inference.runtime.estimator import OnnxEstimator
from inference.runtime.model_meta import ModelMetadata
from tests.helpers.tiny_models import tiny_metadata
from tests.training.conftest import tiny_config
from training.export import export_onnx, export_run
from training.nets import build_model
from training.torch_backend import TorchEstimator
from training.train import load_checkpoint, load_model, train

S = 32  # crop size of the test models


@pytest.fixture(scope="module")
def runs(tiny_seq: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One-epoch runs (32x32 crops, fc-16: fast on CPU) of a depth net and both two-stream nets."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for arch in ("depthnet", "fusenet-conv", "fusepred"):
        cfg = tiny_config(tiny_seq, root / arch, root / "cache", arch=arch, fc_width=16, input_size=S, epochs=1)
        train(cfg, progress=False)
        out[arch] = root / arch
    return out


def _generated_crop(seed: int) -> HandCrop:
    rng = np.random.default_rng(seed)
    return HandCrop(depth=rng.uniform(-1, 1, (S, S)).astype(np.float32),
                    rgb=rng.normal(0, 1, (3, S, S)).astype(np.float32), com_uvd=np.array([320.0, 240.0, 700.0]),
                    com_xyz_mm=np.zeros(3), cube_mm=300.0, mask=np.ones((S, S), bool), window_px=(0, 0, 1, 1))


def _real_crop(nyu_frame_dir: Path, rgb_mean: list[float], rgb_std: list[float]) -> HandCrop:
    depth = read_depth_png(nyu_frame_dir / "depth_1_0000001.png")
    color = read_rgb_png(nyu_frame_dir / "rgb_1_0000001.png")
    seg = segment_hand(depth, NYU_INTRINSICS)
    assert seg.found
    return make_crop(depth, seg.com_uvd, NYU_INTRINSICS, 300.0, color, np.array(rgb_mean), np.array(rgb_std), size=S)


def _torch_reference(run: Path, crop: HandCrop) -> np.ndarray:
    model, cfg = load_model(load_checkpoint(run))
    model.eval()
    d = torch.from_numpy(crop.depth)[None, None]
    r = torch.from_numpy(crop.rgb)[None]
    with torch.no_grad():
        out = model(d) if cfg.input_layout == "depth" else model(d, r)
    return out.numpy().reshape(-1, 3)


@pytest.mark.parametrize("arch", ["depthnet", "fusenet-conv", "fusepred"])
def test_onnxruntime_matches_torch_on_real_and_generated_crops(runs, arch: str, nyu_frame_dir: Path,
                                                               tmp_path: Path) -> None:
    path, _meta = export_run(runs[arch], tmp_path / f"{arch}.onnx")
    est = OnnxEstimator(path, providers="cpu", warmup_runs=0)
    assert est.metadata.architecture == arch
    ckpt = load_checkpoint(runs[arch])
    crops = [_generated_crop(0), _generated_crop(1)]
    crops.append(_real_crop(nyu_frame_dir, ckpt["rgb_mean"] or [0, 0, 0], ckpt["rgb_std"] or [1, 1, 1]))
    for crop in crops:
        np.testing.assert_allclose(est.predict(crop), _torch_reference(runs[arch], crop), atol=1e-4)


def test_metadata_and_model_card(runs, tmp_path: Path) -> None:
    path, _ = export_run(runs["fusenet-conv"], tmp_path / "f.onnx")
    proto = onnx.load(str(path))
    meta = ModelMetadata.from_props({p.key: p.value for p in proto.metadata_props})
    assert meta.input_layout == "depth+rgb" and meta.cube_mm == 300.0 and len(meta.rgb_mean) == 3
    assert meta.training["model_args"]["fuse_at"] == 4 and "val_loss" in meta.metrics
    assert [i.name for i in proto.graph.input] == ["depth", "rgb"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"  # dynamic batch
    card = json.loads((tmp_path / "f.json").read_text())
    assert card["architecture"] == "fusenet-conv" and card["bytes"] == path.stat().st_size


def test_dynamic_batch(runs, tmp_path: Path) -> None:
    import onnxruntime as ort

    path, _ = export_run(runs["depthnet"], tmp_path / "d.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, (5, 1, S, S)).astype(np.float32)
    assert sess.run(["joints"], {"depth": x})[0].shape == (5, 42)


@pytest.mark.parametrize("option", ["fp16", "int8"])
def test_reduced_precision_exports_stay_close(runs, tmp_path: Path, option: str) -> None:
    ref_path, _ = export_run(runs["depthnet"], tmp_path / "ref.onnx")
    path, meta = export_run(runs["depthnet"], tmp_path / f"{option}.onnx", **{option: True})
    assert meta.training["precision"] == option
    ref = OnnxEstimator(ref_path, providers="cpu", warmup_runs=0)
    low = OnnxEstimator(path, providers="cpu", warmup_runs=0)
    crop = _generated_crop(3)
    assert np.abs(low.predict(crop) - ref.predict(crop)).max() < 5e-3  # cube units: 0.75 mm at a 300 mm cube


def test_torch_backend_matches_onnxruntime(runs, tmp_path: Path) -> None:
    path, _ = export_run(runs["fusenet-conv"], tmp_path / "f.onnx")
    ort_est = OnnxEstimator(path, providers="cpu", warmup_runs=0)
    crop = _generated_crop(5)
    for source in (runs["fusenet-conv"], path):  # the checkpoint, and the ONNX file's own weights
        est = TorchEstimator(source, device="cpu")
        assert est.provider == "torch:cpu" and est.metadata.input_layout == "depth+rgb"
        np.testing.assert_allclose(est.predict(crop), ort_est.predict(crop), atol=1e-4)


def test_torch_backend_rejects_quantised_onnx(runs, tmp_path: Path) -> None:
    path, _ = export_run(runs["depthnet"], tmp_path / "q.onnx", int8=True)
    with pytest.raises(ModelError, match="fp32 export"):
        TorchEstimator(path, device="cpu")


def test_export_to_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(HandposeError, match=r"a_file/m\.onnx: cannot write"):
        export_onnx(torch.nn.Identity(), tiny_metadata(), tmp_path / "a_file" / "m.onnx")


def test_a_run_directory_without_checkpoints_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no best\.pt or last\.pt in this run directory"):
        load_checkpoint(tmp_path)


def test_export_cli(runs, tmp_path: Path) -> None:
    from handpose.cli import main

    assert main(["export", str(runs["depthnet"]), "--out", str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").is_file() and (tmp_path / "m.json").is_file()
    assert main(["export", str(tmp_path / "nope"), "--out", str(tmp_path / "x.onnx")]) == 2


def test_export_writes_a_weights_only_checkpoint_that_init_and_the_torch_backend_take(runs, tmp_path: Path) -> None:
    from training.train import init_weights

    path, _ = export_run(runs["fusenet-conv"], tmp_path / "f.onnx")
    weights = tmp_path / "f.pt"
    ckpt = torch.load(weights, weights_only=True)
    assert "optimizer" not in ckpt and "history" not in ckpt and len(ckpt["rgb_mean"]) == 3
    assert weights.stat().st_size < 0.6 * (runs["fusenet-conv"] / "last.pt").stat().st_size
    crop = _generated_crop(3)
    np.testing.assert_allclose(TorchEstimator(weights, device="cpu").predict(crop),
                               OnnxEstimator(path).predict(crop), atol=1e-5)
    model, cfg = load_model(load_checkpoint(weights))
    fresh = build_model(cfg)
    init_weights(fresh, weights, cfg)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values(),
                                                 strict=True))
