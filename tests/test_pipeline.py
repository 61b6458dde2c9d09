"""The chapter-level calls reject bad parameters before any rendering, feature extraction or training."""
import pytest

from wmnb import pipeline
from wmnb.errors import ConfigError
from wmnb.stimuli import SourceSettings


@pytest.mark.parametrize("kwargs, name", [
    (dict(profile="fast"), "profile"),
    (dict(source="blender"), "source"),
    (dict(backbone="vgg16"), "vgg16"),
    (dict(identities_per_category=1), "identities_per_category"),
    (dict(image_size=30), "image_size"),
])
def test_world_rejects_bad_parameters_fast(kwargs, name, tmp_path, monkeypatch):
    def no_work(*a, **k):  # the check fails before any rendering or feature extraction
        raise AssertionError("pipeline.world did work before rejecting a bad parameter")

    monkeypatch.setattr(pipeline, "build_stimulus_set", no_work)
    monkeypatch.setattr(pipeline, "compute_feature_bank", no_work)
    with pytest.raises(ConfigError, match=name):
        pipeline.world(cache_dir=tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("kwargs, name", [
    (dict(scenario="XTXF"), "scenario"),
    (dict(core="transformer"), "core"),
    (dict(readout="maxpool"), "readout"),
    (dict(profile="huge"), "profile"),
    (dict(hidden_size=0), "hidden_size"),
])
def test_train_config_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        pipeline.train_config(**kwargs)


def test_seeds_for_profiles_and_override():
    assert pipeline.seeds_for("quick") == (0, 1, 2, 3, 4)
    assert pipeline.seeds_for("smoke", 2) == (0, 1)
    with pytest.raises(ConfigError, match="n_seeds"):
        pipeline.seeds_for("quick", 0)


def test_world_refuses_shapenet_root_conflicts(tmp_path):
    with pytest.raises(ConfigError, match="conflicts"):
        pipeline.world(source=SourceSettings("shapenet", str(tmp_path)), shapenet_root="/elsewhere",
                       cache_dir=tmp_path)
