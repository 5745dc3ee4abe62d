"""Training options beyond the thesis recipe: several data folders (with unlabelled real frames), a separate
validation set, --init from a weights-only checkpoint, lr schedules, a refreshed pool, speed settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference.core.errors import HandposeError, ModelError
from inference.core.geometry import NYU_INTRINSICS, xyz_to_uvd
from inference.core.skeleton import EVAL_JOINT_IDS, NUM_NYU_JOINTS
from inference.formats.nyu_io import NyuWriter
from tests.training.conftest import tiny_config
from tests.training.procedural import random_pose, render, write_sequence
from training.train import load_checkpoint, pool_indices, train


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]


def _partly_labelled(root: Path, frames: int, labelled: set[int], seed: int = 5) -> None:
    """A folder as a labelling tool leaves it: every frame written, joint_data.mat rows NaN where not labelled."""
    rng = np.random.default_rng(seed)
    with NyuWriter(root) as writer:
        for number in range(1, frames + 1):
            joints = random_pose(rng)
            depth, rgb = render(joints)
            if number in labelled:
                j36 = np.repeat(joints[13:14], NUM_NYU_JOINTS, axis=0)
                j36[list(EVAL_JOINT_IDS)] = joints
                writer.write(number, depth, rgb, xyz_to_uvd(j36, NYU_INTRINSICS), j36)
            else:
                writer.write(number, depth, rgb)


def test_several_folders_train_together_and_unlabelled_rows_are_skipped(tiny_seq: Path, tmp_path: Path) -> None:
    real = tmp_path / "labelled_real"
    _partly_labelled(real, 10, labelled={2, 3, 5, 8})
    cfg = tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=1)
    cfg.data = [str(tiny_seq), str(real)]
    summary = train(cfg, progress=False)
    data = summary["data"]
    assert data["skipped"] == {"unlabelled": 6}
    assert data["frames"] == 24 + 4 and len(data["roots"]) == 2
    from training.crop_cache import open_cache

    source = open_cache(data["cache"]).arrays["source"]
    assert sorted(source[source[:, 0] == 1, 1].tolist()) == [2, 3, 5, 8]


def test_cli_mixes_folders_and_reports_skipped_frames(tiny_seq: Path, tmp_path: Path, capsys) -> None:
    from handpose.cli import main

    real = tmp_path / "real"
    _partly_labelled(real, 6, labelled={1, 4})
    code = main(["train", str(tiny_seq), str(real), "--arch", "net1", "--fc-width", "16", "--input-size", "32",
                 "--epochs", "1", "--batch-size", "4", "--workers", "0", "--cache-dir", str(tmp_path / "c"),
                 "--out", str(tmp_path / "r"), "--optimizer", "adam", "--lr", "1e-3", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    assert "unlabelled" in captured.err
    import json

    assert json.loads(captured.out)["data"]["skipped"] == {"unlabelled": 4}


def test_separate_validation_set_trains_on_every_frame(tiny_seq: Path, tmp_path: Path) -> None:
    val = tmp_path / "val"
    write_sequence(val, 8, seed=9)
    summary = train(tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=1, val_data=[str(val)]),
                    progress=False)
    assert summary["data"]["splits"] == {"train": 24, "val": 8, "test": 0}
    assert summary["data"]["val"]["frames"] == 8


def test_init_starts_from_the_checkpoint_weights(tiny_seq: Path, tmp_path: Path) -> None:
    first = tiny_config(tiny_seq, tmp_path / "a", tmp_path / "cache", epochs=1, optimizer="adam", lr=1e-3)
    train(first, progress=False)
    # A portable weights-only file, as models/depthnet.pt: model arguments and weights only.
    ckpt = load_checkpoint(tmp_path / "a" / "best.pt")
    torch.save({"model_args": ckpt["model_args"], "model": ckpt["model"]}, tmp_path / "w.pt")
    # lr 0: Adam leaves the weights where --init put them.
    second = tiny_config(tiny_seq, tmp_path / "b", tmp_path / "cache", epochs=1, optimizer="adam", lr=0.0,
                         init=str(tmp_path / "w.pt"), dropout=0.1)
    train(second, progress=False)
    a, b = ckpt["model"], _weights(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    fresh = tiny_config(tiny_seq, tmp_path / "c", tmp_path / "cache", epochs=1, optimizer="adam", lr=0.0)
    train(fresh, progress=False)
    assert not torch.equal(_weights(tmp_path / "c" / "last.pt")["features.0.weight"], a["features.0.weight"])


def test_init_from_another_net_is_a_clear_error(tiny_seq: Path, tmp_path: Path) -> None:
    train(tiny_config(tiny_seq, tmp_path / "a", tmp_path / "cache", epochs=1), progress=False)
    other = tiny_config(tiny_seq, tmp_path / "b", tmp_path / "cache", epochs=1, fc_width=16,
                        init=str(tmp_path / "a" / "best.pt"))
    with pytest.raises(ModelError, match=r"a different net: fc_width 32 \(this run: 16\)"):
        train(other, progress=False)
    missing = tiny_config(tiny_seq, tmp_path / "c", tmp_path / "cache", init=str(tmp_path / "nope.pt"))
    with pytest.raises(ModelError, match="checkpoint not found"):
        train(missing, progress=False)


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_per_step_schedules_resume_exactly_and_refuse_another_length(schedule: str, tiny_seq: Path,
                                                                     tmp_path: Path) -> None:
    kw = dict(epochs=2, optimizer="adam", lr=1e-3, schedule=schedule)
    train(tiny_config(tiny_seq, tmp_path / "whole", tmp_path / "cache", **kw), progress=False)
    split = tiny_config(tiny_seq, tmp_path / "split", tmp_path / "cache", **kw)
    train(split, stop_after_epochs=1, progress=False)
    train(split, progress=False)
    a, b = _weights(tmp_path / "whole" / "last.pt"), _weights(tmp_path / "split" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    lrs = [row["lr"] for row in torch.load(tmp_path / "whole" / "last.pt", weights_only=True)["history"]]
    if schedule == "cosine":
        assert lrs[-1] == pytest.approx(0.0, abs=1e-9) and lrs[0] < 1e-3
    longer = tiny_config(tiny_seq, tmp_path / "whole", tmp_path / "cache", **(kw | {"epochs": 4}))
    with pytest.raises(ModelError, match="length is fixed"):
        train(longer, progress=False)


def test_pool_is_a_fifo_of_fresh_frames() -> None:
    base, fresh = np.arange(10), np.arange(10, 17)
    assert pool_indices(base, fresh, 0, 0.3, seed=0).tolist() == list(range(10))
    one = pool_indices(base, fresh, 1, 0.3, seed=0)
    assert len(one) == 10 and set(range(10, 13)) <= set(one.tolist()) and len(set(one.tolist()) & set(range(10))) == 7
    two = pool_indices(base, fresh, 2, 0.3, seed=0)
    assert set(one.tolist()) - set(range(10, 13)) > set(two.tolist()) - set(range(10, 16))  # base frames leave
    assert set(pool_indices(base, fresh, 9, 0.3, seed=0).tolist()) >= set(fresh.tolist())  # used up: stays
    np.testing.assert_array_equal(pool_indices(base, fresh, 2, 0.3, seed=0), two)


def test_refresh_brings_new_frames_into_the_pool(tiny_seq: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    write_sequence(new, 12, seed=11)
    cfg = tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=3, refresh_data=[str(new)],
                      refresh_fraction=0.25, test_subjects=[])
    summary = train(cfg, progress=False)
    assert [row["pool_new_frames"] for row in summary["history"]] == [0, 4, 8]
    assert summary["data"]["refresh"]["frames"] == 12 and summary["data"]["frames"] == 24
    with pytest.raises(HandposeError, match="needs --refresh-data"):
        tiny_config(tiny_seq, tmp_path / "x", tmp_path / "cache", refresh_fraction=0.5)


def test_speed_settings_and_gap_head_train(tiny_seq: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_seq, tmp_path / "run", tmp_path / "cache", epochs=1, channels_last=True, threads=1,
                      head="gap", input_size=48)
    summary = train(cfg, progress=False)
    assert summary["epochs"] == 1 and torch.get_num_threads() == 1
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt["model_args"]["head"] == "gap" and ckpt["model_args"]["input_size"] == 48


def test_fusenet_starts_as_the_depthnet_it_is_initialised_from(tiny_seq: Path, tmp_path: Path) -> None:
    from training.nets import build_model

    kw = dict(epochs=1, optimizer="adam", input_size=32, fc_width=16, width=0.25)
    train(tiny_config(tiny_seq, tmp_path / "d", tmp_path / "cache", arch="depthnet", lr=1e-3, **kw), progress=False)
    # lr 0: the Fuse-Net's weights stay where --init put them.
    train(tiny_config(tiny_seq, tmp_path / "f", tmp_path / "cache", arch="fusenet-conv", lr=0.0,
                      init=str(tmp_path / "d" / "best.pt"), **kw), progress=False)
    depth_ckpt, fuse_ckpt = load_checkpoint(tmp_path / "d" / "best.pt"), load_checkpoint(tmp_path / "f" / "last.pt")
    depthnet = build_model(depth_ckpt["model_args"], init=False)
    depthnet.load_state_dict(depth_ckpt["model"])
    fusenet = build_model(fuse_ckpt["model_args"], init=False)
    fusenet.load_state_dict(fuse_ckpt["model"])
    rng = torch.Generator().manual_seed(0)
    depth, rgb = torch.rand(3, 1, 32, 32, generator=rng) * 2 - 1, torch.randn(3, 3, 32, 32, generator=rng)
    with torch.no_grad():
        torch.testing.assert_close(fusenet.eval()(depth, rgb), depthnet.eval()(depth))
    assert fuse_ckpt["model"]["rgb_stream.0.weight"].abs().sum() > 0  # the RGB stream is its own
    with pytest.raises(ModelError, match=r"a different net: width 0\.25"):
        train(tiny_config(tiny_seq, tmp_path / "g", tmp_path / "cache", arch="fusenet-conv",
                          init=str(tmp_path / "d" / "best.pt"), **(kw | {"width": 0.5})), progress=False)


def test_per_axis_centre_jitter_draws_that_spread_and_one_value_keeps_the_old_draws() -> None:
    from training.augment import Augment

    shifts = np.array([Augment(shift_mm=(20.0, 5.0, 0.0)).sample(np.random.default_rng(i))[2] for i in range(2000)])
    np.testing.assert_allclose(shifts.std(0), [20.0, 5.0, 0.0], rtol=0.08, atol=1e-9)
    assert Augment().sample(np.random.default_rng(3))[2].tolist() == \
        Augment(shift_mm=(8.0, 8.0, 8.0)).sample(np.random.default_rng(3))[2].tolist()


def test_cli_centre_jitter_takes_one_or_three_values(tiny_seq: Path, tmp_path: Path) -> None:
    from handpose.cli import build_parser
    from handpose.commands.train import config_from_args

    args = build_parser().parse_args(["train", str(tiny_seq), "--out", "x", "--centre-jitter-mm", "22.4", "23.6",
                                      "18.7"])
    assert config_from_args(args, "x").augment.shift_mm == (22.4, 23.6, 18.7)
    bad = build_parser().parse_args(["train", str(tiny_seq), "--out", "x", "--centre-jitter-mm", "1", "2"])
    with pytest.raises(HandposeError, match="one or three"):
        config_from_args(bad, "x")


def test_init_for_another_input_size_resamples_the_feature_grid() -> None:
    """A net trained on 32x32 crops started at 16x16: every weight carries over, the fc layer on the 4x4 feature
    grid becomes a 2x2 grid of cell sums, so a spatially constant feature map gives the same first fc response."""
    from training.nets import ModelConfig, build_model, resample_input_grid

    big = build_model(ModelConfig(arch="depthnet", input_size=32, fc_width=8, bottleneck=4, width=0.25))
    small = build_model(ModelConfig(arch="depthnet", input_size=16, fc_width=8, bottleneck=4, width=0.25))
    state = resample_input_grid(big.state_dict(), small, 32)
    small.load_state_dict(state)
    key = "head.layers.3.weight"  # bottleneck conv, ReLU, flatten, fc
    assert big.state_dict()[key].shape == (8, 4 * 4 * 4) and state[key].shape == (8, 4 * 2 * 2)
    torch.testing.assert_close(state["features.0.weight"], big.state_dict()["features.0.weight"])
    constant = torch.ones(1, 4 * 4 * 4)
    torch.testing.assert_close(constant[:, :16] @ state[key].T, constant @ big.state_dict()[key].T)
    with pytest.raises(ModelError, match="cannot be resampled"):
        resample_input_grid(big.state_dict(), build_model(ModelConfig(arch="depthnet", input_size=20, fc_width=8,
                                                                      bottleneck=4, width=0.25)), 32)
