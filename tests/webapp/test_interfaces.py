"""The real model and moderation chain, and the web tests' stand-ins, satisfy webapp.interfaces."""

from __future__ import annotations

import inspect

import pytest

from tests.webapp.api_fakes import FakeGenerator, FakeModeration
from webapp.interfaces import ModerationChain, TextToImage


def methods(protocol: type) -> list[str]:
    """The protocol's methods (its properties and attributes are checked by isinstance)."""
    return sorted(
        name
        for name, value in vars(protocol).items()
        if inspect.isfunction(value) and not name.startswith("_")
    )


def incompatible(protocol: type, implementation: object, name: str) -> str | None:
    """Why ``implementation.name`` cannot be called as the protocol says, or None."""
    wanted = inspect.signature(getattr(protocol, name))
    given = inspect.signature(getattr(implementation, name))
    expected = [p for p in wanted.parameters.values() if p.name != "self"]
    offered = dict(given.parameters)
    for param in expected:
        other = offered.pop(param.name, None)
        if other is None:
            return f"{name}() lacks parameter {param.name!r}"
        if other.kind != param.kind:
            return f"{name}() takes {param.name!r} as {other.kind.description}"
        if (
            param.default is not inspect.Parameter.empty
            and other.default is inspect.Parameter.empty
        ):
            return f"{name}() requires {param.name!r}, which callers may leave out"
    for other in offered.values():
        if other.default is inspect.Parameter.empty and other.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            return f"{name}() requires {other.name!r}, which callers never pass"
    return None


def real_generator(tmp_path):
    from generation import Generator

    return Generator(model_dir=tmp_path)  # cheap: nothing loads


def real_moderation(tmp_path):
    from safety import Moderation

    return Moderation()  # cheap: nothing loads


@pytest.mark.parametrize(
    ("protocol", "build"),
    [
        (TextToImage, real_generator),
        (TextToImage, lambda tmp_path: FakeGenerator(tmp_path)),
        (ModerationChain, real_moderation),
        (ModerationChain, lambda tmp_path: FakeModeration()),
    ],
    ids=["Generator", "FakeGenerator", "Moderation", "FakeModeration"],
)
def test_implementation_satisfies_the_protocol(protocol, build, tmp_path):
    implementation = build(tmp_path)
    assert isinstance(implementation, protocol)
    problems = [incompatible(protocol, implementation, name) for name in methods(protocol)]
    assert [p for p in problems if p] == []


def test_the_check_catches_a_drifted_signature(tmp_path):
    class Drifted(FakeModeration):
        def check_prompt(self, text: str) -> None:  # renamed, and no negative prompt
            return None

    assert incompatible(ModerationChain, Drifted(), "check_prompt") == (
        "check_prompt() lacks parameter 'prompt'"
    )
    assert not isinstance(object(), ModerationChain)
