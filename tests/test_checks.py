"""wmnb.checks, the one validation layer (issue 10, point 2): a bad parameter is named with its value and what is
allowed, before any work."""
import pytest

from helpers import fake_shapenet
from wmnb import checks
from wmnb.errors import AssetError, ConfigError
from wmnb.stimuli import SourceSettings


@pytest.mark.parametrize("kwargs, words", [
    (dict(seed=-1), ["seed=-1", ">= 0"]),
    (dict(seeds=[0, -3]), ["seeds=-3"]),
    (dict(seeds=[1, 1]), ["seeds", "twice"]),
    (dict(seeds="0,1"), ["seeds", "list"]),
    (dict(scenarios=["MTMF", "XTXF"]), ["scenarios='XTXF'", "STSF"]),
    (dict(scenarios=[]), ["scenarios", "empty"]),
    (dict(stsf_features=["colour"]), ["stsf_features='colour'", "location"]),
    (dict(cores=["gru", "transformer"]), ["cores='transformer'", "lstm"]),
    (dict(core="all"), ["core='all'", "rnn"]),
    (dict(profile="fast"), ["profile='fast'", "smoke"]),
    (dict(backbone="bogus"), ["backbone='bogus'", "efficientnet_lite0"]),
    (dict(backbones="random"), ["backbones", "list"]),
    (dict(n_seeds=0), ["n_seeds=0"]),
    (dict(n_per_condition=0), ["n_per_condition=0"]),
    (dict(by_n="yes"), ["by_n='yes'"]),
    (dict(identities_per_category=1), ["identities_per_category=1"]),
    (dict(source="procedural", image_size=63), ["image_size=63", "even"]),
    (dict(source="blender"), ["source='blender'", "procedural"]),
    (dict(source="shapenet"), ["shapenet_root=None"]),
    (dict(source="shapenet", shapenet_root="/no/such/folder"), ["shapenet_root='/no/such/folder'", "folder"]),
    (dict(source="debian", shapenet_root="/tmp"), ["shapenet_root='/tmp'", "source='shapenet'"]),
    (dict(source="debian", identities_per_category=99), ["identities_per_category=99", "Debian"]),
    (dict(scenario="MTMF", seq_len=3), ["seq_len=3", "N=3", ">= 4"]),
    (dict(scenario="MTMF", feature="location"), ["feature='location'", "STSF"]),
    (dict(readout="attention"), ["attention='none'", "readout='attention'"]),
    (dict(scenari="MTMF"), ["unknown parameter 'scenari'", "scenarios"]),
])
def test_check_names_parameter_value_and_allowed(kwargs, words):
    with pytest.raises(ConfigError) as err:
        checks.check(**kwargs)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_check_accepts_and_normalises():
    p = checks.check(profile="smoke", source="procedural", seeds=[2, 0], cores=["rnn", "gru"],
                     scenarios=["STSF", "MTMF"], stsf_features=["category"], n_seeds=None, by_n=True)
    assert p["seeds"] == (2, 0) and p["cores"] == ("rnn", "gru") and p["scenarios"] == ("STSF", "MTMF")
    assert p["sources"] == SourceSettings("procedural")
    # a chapter may widen or narrow a choice for itself
    assert checks.check(core="all", choices={"core": ("rnn", "gru", "lstm", "all")})["core"] == "all"
    with pytest.raises(ConfigError, match="scenario='STSF'"):
        checks.check(scenario="STSF", choices={"scenario": ("STMF", "MTMF")})


def test_shapenet_folder_with_too_few_models_fails_before_rendering(tmp_path):
    root = fake_shapenet(tmp_path / "ShapeNetCore.v2", n=2)
    assert checks.check(source="shapenet", shapenet_root=str(root), identities_per_category=2)
    with pytest.raises(AssetError, match="fewer than k=3"):
        checks.check(source="shapenet", shapenet_root=root, identities_per_category=3)
