import sys
import types

from sicot.console import _quiet_unraisable


def _unraisable(owner_qualname, exc):
    return types.SimpleNamespace(object=types.SimpleNamespace(__qualname__=owner_qualname), exc_value=exc)


def test_only_tensorflows_atomic_function_teardown_noise_is_dropped(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "__unraisablehook__", seen.append)
    _quiet_unraisable(_unraisable("AtomicFunction.__del__", TypeError("'NoneType' object is not subscriptable")))
    assert seen == []
    other = _unraisable("Other.__del__", TypeError("x"))
    _quiet_unraisable(other)
    atomic_other_error = _unraisable("AtomicFunction.__del__", ValueError("y"))
    _quiet_unraisable(atomic_other_error)
    assert seen == [other, atomic_other_error]


def test_detail_lines_sit_under_their_stage(capsys):
    from sicot.console import detail, stage

    stage("Trainer", "running")
    detail("word vectors: 12 x 8")
    assert capsys.readouterr().out == "==> Trainer  running\n    word vectors: 12 x 8\n"
