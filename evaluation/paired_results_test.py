"""`sicot pair`: two results.json files, one variant of each, paired by seed."""

import json

import pytest

from cli.main import main
from evaluation.paired_results import PairingError, pair, pairing_tables

METRICS = ("top1_accuracy", "top3_accuracy", "top1_accuracy_per_class", "top3_accuracy_per_class")


def slices(top1: dict, examples: int = 100) -> dict:
    return {s: {"example_count": examples, "classes": 10, **{k: v + (0.1 if "top3" in k else 0.0) for k in METRICS}}
            for s, v in top1.items()}


def results(path, models, split="validation", variants=None, **extra):
    doc = {"schema": "sicot.results/2", "split": split, "slices": ["overall", "tail"],
           "variants": variants or list(dict.fromkeys(m["variant"] for m in models)),
           "models": models, **extra}
    path.write_text(json.dumps(doc))
    return path


def model(variant, seed, overall, tail, examples=100):
    return {"variant": variant, "seed": seed, "slices": slices({"overall": overall, "tail": tail}, examples)}


@pytest.fixture
def files(tmp_path):
    a = results(tmp_path / "a.json", [model("baseline", s, 0.5, 0.1) for s in (1, 2, 3)]
                + [model("sicot-mean", 1, 0.50, 0.30), model("sicot-mean", 2, 0.52, 0.32),
                   model("sicot-mean", 3, 0.54, 0.34), model("sicot-mean", 4, 0.9, 0.9)])
    b = results(tmp_path / "b.json", [model("sicot-mean", 1, 0.50, 0.28), model("sicot-mean", 2, 0.50, 0.29),
                                      model("sicot-mean", 3, 0.50, 0.30)])
    return a, b


def test_gains_are_paired_by_seed_with_their_t_interval(files):
    a, b = files
    p = pair(a, b)
    assert (p.a.variant, p.b.variant, p.seeds) == ("sicot-mean", "sicot-mean", [1, 2, 3])
    tail = p.gains["tail"]["top1_accuracy"]
    # Differences +0.02, +0.03, +0.04: mean 0.03, sd 0.01, half-width t(0.975, 2) 0.01 / sqrt(3).
    assert tail["mean"] == pytest.approx(0.03) and tail["std"] == pytest.approx(0.01)
    assert tail["ci95"] == pytest.approx([0.03 - 4.302653 * 0.01 / 3 ** 0.5, 0.03 + 4.302653 * 0.01 / 3 ** 0.5])
    assert p.means["tail"]["top1_accuracy"] == pytest.approx((0.32, 0.29))
    # Seed 4 has no pair: left out of every number, and said.
    assert p.unpaired == {str(a): [4]}
    per_example = pairing_tables(p)[0]
    assert per_example.rows[1] == ["tail", "32.0", "29.0", "+3.0 ± 1.0 [+0.5, +5.5]", "+2.0, +3.0, +4.0",
                                   "+3.0 ± 1.0 [+0.5, +5.5]"]
    assert f"{a} seeds [4]" in per_example.note


def test_the_cli_prints_the_tables_and_refuses_with_the_reason(files, capsys):
    a, b = files
    assert main(["pair", str(a), str(b), "--variant-a", "sicot-mean"]) == 0
    out = capsys.readouterr().out
    assert "sicot-mean (A) vs sicot-mean (B): top-1 / top-3 accuracy (%), per example" in out
    assert "+3.0 ± 1.0 [+0.5, +5.5]" in out
    assert main(["pair", str(a), str(b), "--variant-b", "baseline"]) == 2
    assert "no variant 'baseline'" in capsys.readouterr().err


def test_the_baseline_can_be_a_side(files):
    a, b = files
    p = pair(b, a, variant_b="baseline")
    assert p.gains["tail"]["top1_accuracy"]["mean"] == pytest.approx(0.19)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(withheld=True), "withheld"),
        (lambda d: d.update(split="test"), "validation split and .* test split"),
        (lambda d: d["models"][0]["slices"]["tail"].update(example_count=99), "slice 'tail' at seed 1: 100 examples"),
        (lambda d: [m.update(seed=m["seed"] + 10) for m in d["models"]], "no seed has both models"),
        (lambda d: d.update(variants=["sicot-mean", "sicot-bilstm"]), "name the variant to pair"),
    ],
)
def test_what_cannot_be_paired_is_refused(files, change, message):
    a, b = files
    doc = json.loads(b.read_text())
    change(doc)
    b.write_text(json.dumps(doc))
    with pytest.raises(PairingError, match=message):
        pair(a, b)


def test_a_missing_or_broken_file_is_refused(files, tmp_path):
    a, _ = files
    with pytest.raises(PairingError, match="no such results file"):
        pair(a, tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(PairingError, match="not a results.json"):
        pair(a, tmp_path / "bad.json")
