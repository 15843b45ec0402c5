"""A step's code version: its modules and what they import from our packages, nothing else."""

import pytest

from tfx_pipeline.code_version import ROOT, code_version, step_files


@pytest.fixture()
def tree(tmp_path):
    """A repository in miniature: models.step imports models.loss (at the top) and
    sicot.config (inside a function); models.other stands alone."""
    files = {
        "models/__init__.py": "",
        "models/step.py": "import numpy\nfrom models import loss\n\ndef f():\n    from sicot.config import C\n",
        "models/step_test.py": "T = 1\n",
        "models/loss.py": "import models.helpers as h\n",
        "models/helpers.py": "H = 1\n",
        "models/other.py": "O = 1\n",
        "components/__init__.py": "",
        "components/gen.py": "from components.util import u\n",
        "components/util.py": "def u(): pass\n",
        "sicot/__init__.py": "",
        "sicot/config.py": "C = 1\n",
        "tfx_pipeline/pipeline.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def names(files, root):
    return sorted(p.relative_to(root).as_posix() for p in files)


def test_the_files_of_a_step_are_its_modules_and_their_imports_transitively(tree):
    assert names(step_files(("models.step",), tree), tree) == [
        "models/__init__.py", "models/helpers.py", "models/loss.py", "models/step.py", "sicot/__init__.py",
        "sicot/config.py"]
    assert names(step_files(("components.gen",), tree), tree) == [
        "components/__init__.py", "components/gen.py", "components/util.py"]


def test_a_change_reruns_only_the_steps_that_import_it(tree):
    step, gen = code_version("models.step", root=tree), code_version("components.gen", root=tree)
    (tree / "models" / "helpers.py").write_text("H = 2\n")  # imported through loss
    assert code_version("models.step", root=tree) != step
    assert code_version("components.gen", root=tree) == gen
    step = code_version("models.step", root=tree)
    (tree / "sicot" / "config.py").write_text("C = 2\n")  # imported inside a function
    assert code_version("models.step", root=tree) != step


def test_tests_unrelated_modules_and_other_files_do_not_count(tree):
    step = code_version("models.step", root=tree)
    (tree / "models" / "step_test.py").write_text("T = 2\n")
    (tree / "models" / "other.py").write_text("O = 2\n")
    (tree / "models" / "notes.txt").write_text("hello")
    (tree / "tfx_pipeline" / "pipeline.py").write_text("changed = True\n")
    assert code_version("models.step", root=tree) == step


def test_with_no_entry_every_module_counts_and_an_unknown_entry_fails(tree):
    everything = code_version(root=tree)
    (tree / "models" / "other.py").write_text("O = 2\n")
    assert code_version(root=tree) != everything
    with pytest.raises(ValueError, match="no module 'models.nope'"):
        code_version("models.nope", root=tree)


def test_the_real_steps_are_found_and_stable():
    files = names(step_files(("models.trainer", "components.sicot_trainer")), ROOT)
    assert {"models/trainer.py", "models/sicot_model.py", "components/sicot_trainer.py", "sicot/config.py"} <= set(files)
    # The fit loop's plumbing lives in training/: a change there reruns the Trainer too.
    assert {"training/phased_fit.py", "training/fault_tolerant_training.py", "training/distribution.py"} <= set(files)
    assert not any(f.startswith("components/ingest") for f in files)  # ingest code does not rerun training
    version = code_version("models.trainer")
    assert len(version) == 16 and code_version("models.trainer") == version
