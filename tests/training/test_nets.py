"""Architectures: thesis layer/parameter counts, fusion shapes, Fuse-Net at every conv layer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from inference.core.errors import ModelError
from training.nets import ARCHITECTURES, LAYOUTS, POOL, FusePredNet, ModelConfig, build_model, describe, fuse

# (conv, pool) read off Tables 4.1 and 4.2.
THESIS_LAYERS = {"net1": (4, 3), "net2": (5, 3), "net3": (5, 3), "net4": (5, 3), "net5": (7, 3), "net6": (9, 3),
                 "net7": (6, 4), "net8": (8, 5), "net9": (8, 4)}


def _expected_params(layout: str, in_ch: int = 1, fc: int = 4096, joints: int = 14, size: int = 128) -> int:
    """Parameter count by hand: conv k*k*cin*cout + cout, fc in*out + out."""
    total, ch, pools = 0, in_ch, 0
    for item in LAYOUTS[layout]:
        if item == POOL:
            pools += 1
            continue
        filters, k = item
        total += k * k * ch * filters + filters
        ch = filters
    flat = ch * (size >> pools) ** 2
    return total + flat * fc + fc + fc * fc + fc + fc * 3 * joints + 3 * joints


def test_depthnet_has_the_thesis_parameter_count() -> None:
    assert describe(ModelConfig(arch="depthnet")) == {"conv": 9, "pool": 3, "params": 151_904_394, "inputs": ["depth"]}


@pytest.mark.parametrize("name", list(THESIS_LAYERS))
def test_thesis_nets_layers_and_params(name: str) -> None:
    row = describe(ModelConfig(arch=name))
    assert (row["conv"], row["pool"]) == THESIS_LAYERS[name]
    assert row["params"] == _expected_params(name)


def test_fusion_variants_counts() -> None:
    d = _expected_params("net6")
    assert describe(ModelConfig(arch="rgbnet"))["params"] == d + 2 * 9 * 32  # 3 input channels instead of 1
    assert describe(ModelConfig(arch="rgbdnet"))["params"] == d + 3 * 9 * 32
    assert describe(ModelConfig(arch="fusepred")) == {"conv": 18, "pool": 6, "params": 2 * d + 2 * 9 * 32,
                                                      "inputs": ["depth", "rgb"]}
    # Fuse-Net after conv4: an RGB copy of conv1..conv4 is added; cat doubles conv5's input; conv adds a 1x1 2D->D.
    rgb_stream = (3 * 9 * 32 + 32) + (32 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 9 * 64 + 64)
    assert describe(ModelConfig(arch="fusenet-sum"))["params"] == d + rgb_stream
    assert describe(ModelConfig(arch="fusenet-max"))["params"] == d + rgb_stream
    assert describe(ModelConfig(arch="fusenet-cat"))["params"] == d + rgb_stream + 64 * 9 * 128
    assert describe(ModelConfig(arch="fusenet-conv"))["params"] == d + rgb_stream + 128 * 64 + 64


@pytest.mark.parametrize("kind", ["max", "sum", "cat", "conv"])
def test_fusion_functions(kind: str) -> None:
    a, b = torch.randn(2, 8, 5, 5), torch.randn(2, 8, 5, 5)
    conv = torch.nn.Conv2d(16, 8, 1)
    y = fuse(kind, a, b, conv)
    assert y.shape == ((2, 16, 5, 5) if kind == "cat" else (2, 8, 5, 5))
    if kind == "max":
        assert torch.equal(y, torch.maximum(a, b))
    elif kind == "sum":
        assert torch.allclose(y, a + b)
    elif kind == "cat":  # eq. 4.17 interleaves: channel 2k from a, 2k+1 from b
        assert torch.equal(y[:, 0::2], a) and torch.equal(y[:, 1::2], b)


@pytest.mark.parametrize("kind", ["max", "sum", "cat", "conv"])
@pytest.mark.parametrize("fuse_at", range(1, 10))
def test_fusenet_fuses_at_every_conv_layer(kind: str, fuse_at: int) -> None:
    model = build_model(ModelConfig(arch=f"fusenet-{kind}", fuse_at=fuse_at, fc_width=8, input_size=16))
    out = model(torch.randn(2, 1, 16, 16), torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 42) and out.abs().max() < 1  # tanh output


@pytest.mark.parametrize("bad", [{"num_joints": 0}, {"fc_width": -1}, {"input_size": 0}, {"bottleneck": 0},
                                 {"width": 0.0}, {"dropout": 1.0}])
def test_impossible_sizes_are_a_clear_error(bad: dict) -> None:
    with pytest.raises(ModelError, match=next(iter(bad))):
        ModelConfig(arch="depthnet", **bad)


def test_fuse_at_out_of_range_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match=r"conv1\.\.conv9"):
        ModelConfig(arch="fusenet-conv", fuse_at=10)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_arch_runs_small(arch: str) -> None:
    cfg = ModelConfig(arch=arch, fc_width=8, input_size=32 if arch == "net8" else 16)
    model = build_model(cfg)
    s = cfg.input_size
    inputs = {"depth": [(1,)], "rgb": [(3,)], "rgbd": [(4,)], "depth+rgb": [(1,), (3,)]}[cfg.input_layout]
    out = model(*(torch.randn(3, c[0], s, s) for c in inputs))
    assert out.shape == (3, 42)


def test_fusepred_weighted_average() -> None:
    model = build_model(ModelConfig(arch="fusepred", fc_width=8, input_size=16))
    assert isinstance(model, FusePredNet)
    model.eval()  # no dropout
    d, r = torch.randn(2, 1, 16, 16), torch.randn(2, 3, 16, 16)
    pd, pr = model.forward_streams(d, r)
    assert torch.allclose(model(d, r), 0.5 * pd + 0.5 * pr)
    # Per-output weights from validation errors: a perfect depth net gets weight 1 on every output.
    model.fit_weights(torch.zeros(10, 42), torch.ones(10, 42))
    assert torch.allclose(model(d, r), pd)


def test_unknown_architecture_lists_valid_names() -> None:
    with pytest.raises(ModelError, match=r"valid: net1.*fusenet-conv"):
        ModelConfig(arch="resnet")


def test_compact_variant_fits_16_mib() -> None:
    from training.nets import COMPACT

    params = describe(ModelConfig(arch="depthnet", **COMPACT))["params"]
    assert params * 4 <= 16 * 2**20


@pytest.mark.slow
def test_nets_cli_json() -> None:
    out = subprocess.run([sys.executable, "-m", "handpose", "nets", "--json"], capture_output=True, text=True,
                         check=True)
    table = json.loads(out.stdout)
    assert set(table) == set(ARCHITECTURES)
    assert table["depthnet"] == {"conv": 9, "pool": 3, "params": 151_904_394, "inputs": ["depth"]}
    assert table["fusenet-conv"]["inputs"] == ["depth", "rgb"]


def test_width_multiplier_scales_every_conv_and_keeps_the_layout() -> None:
    from training.nets import ModelConfig, build_model

    full = build_model(ModelConfig(arch="depthnet", fc_width=64, bottleneck=8, input_size=32))
    narrow = build_model(ModelConfig(arch="depthnet", fc_width=64, bottleneck=8, input_size=32, width=0.25))
    convs_full = [m for m in full.modules() if isinstance(m, torch.nn.Conv2d)]
    convs_narrow = [m for m in narrow.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs_full) == len(convs_narrow)
    # the 1x1 bottleneck keeps its own width; the 9 thesis convs are scaled
    assert [c.out_channels // 4 for c in convs_full[:9]] == [c.out_channels for c in convs_narrow[:9]]
    assert narrow(torch.zeros(2, 1, 32, 32)).shape == (2, 42)
