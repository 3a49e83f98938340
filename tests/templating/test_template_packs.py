"""User template packs: the sandbox refuses escapes and stops runaway renders, and
`synth templates` lists, validates, previews and starts packs."""

from __future__ import annotations

from pathlib import Path

import jinja2
import jinja2.sandbox
import pytest
from click.testing import CliRunner

from synth.cli.templates import templates
from synth.errors import UserError
from synth.templating import PackSandbox, TemplateLibrary

GUILD = Path(__file__).parents[1] / "data" / "worlds" / "guild.yaml"


def _front(name: str, **fields: str) -> str:
    """Front matter of template test.NAME: a kind_entry document unless told otherwise
    (fields in this order, so `kind` is on line 3, `family` on 5, `shape` on 6)."""
    meta = {"id": f"test.{name}", "kind": "ontology", "lang": "en", "family": "kind_entry"}
    meta.update({"shape": "document", **fields})
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in meta.items()) + "---\n"


def _write(pack: Path, name: str, body: str, **fields: str) -> Path:
    pack.mkdir(parents=True, exist_ok=True)
    path = pack / f"{name}.j2"
    path.write_text(_front(name, **({"introduces": f"[test.{name}]"} | fields)) + body)
    return path


def _render_error(tmp_path: Path, body: str, **limits) -> str:
    path = _write(tmp_path / "pack", "t", body + "\n")
    lib = TemplateLibrary([tmp_path / "pack"], builtin=False, **limits)
    with pytest.raises(UserError) as e:
        lib.render("test.t", {})
    msg = str(e.value)
    assert msg.startswith(str(path)), msg  # names the template
    assert "\n" not in msg
    return msg


# -- the sandbox ----------------------------------------------------------------------------

ESCAPES = {
    "class walk": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__class__'"),
    "subclasses": ("{{ [].__class__.__base__.__subclasses__() }}", "unsafe"),
    "globals": ("{{ cycler.__init__.__globals__['os'] }}", "'__init__'"),
    "self globals": ("{{ self.__init__.__globals__ }}", "unsafe"),
    "import a module": (
        '{% import "os" as os %}{{ os.system("id") }}',
        "not other files or Python modules",
    ),
    "from-import a module": (
        '{% from "subprocess" import run %}{{ run("id") }}',
        "not other files or Python modules",
    ),
    "include outside the pack": ('{% include "../../etc/passwd" %}', "leaves its pack"),
    "include an absolute path": ('{% include "/etc/passwd" %}', "leaves its pack"),
    "include a dotted path": ('{% include "en/../../../etc/passwd" %}', "leaves its pack"),
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_sandbox_refuses_escapes(tmp_path, case):
    body, needle = ESCAPES[case]
    msg = _render_error(tmp_path, body)
    assert needle in msg, msg
    assert "SecurityError" in msg or "TemplateNotFound" in msg


def test_symlink_out_of_the_pack_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "_leak.j2").symlink_to(secret)
    msg = _render_error(tmp_path, '{% include "_leak.j2" %}')
    assert "outside its pack" in msg and "password" not in msg


def test_huge_range_is_refused(tmp_path):
    msg = _render_error(tmp_path, "{% for i in range(10**9) %}{% endfor %}")
    assert "range of 1,000,000,000 items" in msg


def test_runaway_loop_is_stopped_by_the_time_limit(tmp_path):
    body = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    msg = _render_error(tmp_path, body, time_limit=0.2)
    assert "RenderLimit" in msg and "longer than 0.2 s" in msg


def test_megabyte_render_is_stopped_by_the_output_limit(tmp_path):
    msg = _render_error(tmp_path, "{% for i in range(20000) %}{{ 'x' * 100 }}{% endfor %}")
    assert "more than 1,000,000 characters" in msg


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'x' * 10**9 }}",
        "{{ 10 ** 100000000 }}",
        "{{ 'x' | center(10**9) }}",
        "{{ 'x'.ljust(10**9) }}",
        "{{ [1] | batch(10**9, 0) | list }}",
        '{{ "{:>999999999}".format(1) }}',
        '{{ "%999999999d" | format(1) }}',
        '{{ "%999999999d" % 1 }}',
    ],
)
def test_single_huge_operations_are_refused(tmp_path, body):
    assert "RenderLimit" in _render_error(tmp_path, body)


# Strings a template builds without yielding them: each would be a gigabyte, or many
# hundreds of megabytes in all, if it were built before being measured.
BUILT = {
    "join": "{% set x = (['a' * 1000000] * 1000) | join %}{{ x | length }}",
    "str.join": "{{ ''.join(['a' * 1000000] * 1000) | length }}",
    "replace": "{% set x = ('a' * 1000000) | replace('a', 'bbbbbbbbbb') %}{{ x | length }}",
    "concat ~": "{% set s = 'a' * 900000 %}{% set x = s ~ s ~ s %}{{ x | length }}",
    "plus": "{% set s = 'a' * 900000 %}{{ (s + s) | length }}",
    "indent": "{% set x = ('\\n' * 900000) | indent(1000) %}{{ x | length }}",
    "print a list": "{% set s = 'a' * 1000000 %}{% set l = [s, s, s] * 100 %}{{ l }}",
    "macro body": "{% macro m(s) %}{% for i in range(1000) %}{{ s }}{% endfor %}{% endmacro %}"
    "{% set x = m('a' * 100000) %}{{ x | length }}",
    "many strings": "{{ (['a' * 1000000] * 1000) | map('upper') | list | length }}",
    "format %": "{% set s = 'a' * 900000 %}{{ ('%s%s' % (s, s)) | length }}",
    "pprint": "{{ (['a' * 1000000] * 100) | pprint | length }}",
}


@pytest.mark.parametrize("case", sorted(BUILT))
def test_strings_are_capped_before_they_are_built(tmp_path, case):
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    msg = _render_error(tmp_path, BUILT[case])
    assert "RenderLimit" in msg and "characters" in msg, msg
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    assert grown_mb < 200, f"{grown_mb:.0f} MB built before the limit said no"


def test_validate_reports_a_template_that_builds_a_gigabyte(tmp_path):
    pack = tmp_path / "pack"
    _write(pack, "big", BUILT["join"] + "\n")
    r = _invoke("validate", str(pack))
    assert r.exit_code == 1 and "RenderLimit" in r.output, r.output


def test_endless_recursion_is_one_error(tmp_path):
    assert "recursion too deep" in _render_error(
        tmp_path, "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"
    )


def _stop() -> None:
    raise StopIteration


# What PackSandbox decides without Jinja's general path (dict keys as attributes, loop
# counters, calls of macros and plain functions), beside what the general path decides.
SHORTCUTS = {
    "{{ d.k }} {{ d.get('k') }}": {"d": {"k": 1}},
    "{{ d.items() | list }}": {"d": {"items": 5}},  # the method, not the key
    "{{ d.missing is defined }} {{ d.missing }}": {"d": {}},
    "{{ d.pop }}": {"d": {"pop": 1}},  # a mutating method: unsafe
    "{{ d.__class__ }}": {"d": {"__class__": 1}},
    "{% for x in xs %}{{ loop.index }}{{ loop.last }}{{ loop.cycle('a', 'b') }}{% endfor %}": {
        "xs": [3, 4]
    },
    "{% macro m(a) %}[{{ a }}]{% endmacro %}{% for i in xs %}{{ m(i) }}{% endfor %}": {
        "xs": [1, 2]
    },
    "{{ f(1) }} {% for i in xs %}{{ f(i) }}{% endfor %}": {"f": lambda x: x + 1, "xs": [5]},
    "{{ f(1) }}": {"f": jinja2.pass_context(lambda ctx, x: ctx["y"] + x), "y": 2},
    "{{ f() }}": {"f": jinja2.sandbox.unsafe(lambda: 1)},
    "{{ f() is defined }}": {"f": _stop},
}


@pytest.mark.parametrize("body", sorted(SHORTCUTS))
def test_sandbox_shortcuts_decide_as_jinjas_sandbox(body):
    def outcome(env: jinja2.Environment) -> str:
        try:
            return env.from_string(body).render(SHORTCUTS[body])
        except Exception as e:  # the error's kind is the outcome
            return type(e).__name__

    ours = outcome(PackSandbox(undefined=jinja2.StrictUndefined))
    jinjas = outcome(jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined))
    assert ours == jinjas


def test_limits_leave_ordinary_templates_alone(tmp_path):
    _write(
        tmp_path / "pack",
        "ok",
        "{% for i in range(3) %}{{ i }}{% endfor %} {{ range(4) | length }}"
        " {{ 'ab' * 2 }} {{ 2 ** 10 }}\n",
    )
    lib = TemplateLibrary([tmp_path / "pack"], builtin=False, max_output=100)
    assert lib.render("test.ok", {}) == ("012 4 abab 1024", None)
    assert lib.render("test.ok", {}) == ("012 4 abab 1024", None)  # the budget is per render


def test_compiled_templates_are_cached_for_the_builtin_pack_only(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(tmp_path / "cache"))
    _write(tmp_path / "pack", "ok", "{{ 1 + 1 }}\n")
    lib = TemplateLibrary([tmp_path / "pack"], builtin=False)
    assert lib.render("test.ok", {}) == ("2", None)
    cached = list((tmp_path / "cache").rglob("*.cache"))
    assert cached == []  # a pack in a passing folder leaves nothing behind
    builtin = TemplateLibrary()
    tid = next(iter(builtin.variants))
    builtin.compiled(tid, next(iter(builtin.variants[tid])))
    cached = list((tmp_path / "cache").rglob("*.cache"))
    assert cached  # the built-in pack's compiled code is kept for the next run


# -- synth templates --------------------------------------------------------------------------


def _invoke(*args: str):
    return CliRunner().invoke(templates, list(args), catch_exceptions=False)


def test_new_template_validates_and_lists(tmp_path):
    pack = tmp_path / "pack"
    r = _invoke("new", "city_guide", "--dir", str(pack))
    assert r.exit_code == 0, r.output
    text = (pack / "city_guide.j2").read_text()
    assert "id: user.city_guide" in text and "{#" in text  # a commented start
    r = _invoke("validate", str(pack))
    assert r.exit_code == 0, r.output
    assert "1 template(s) OK" in r.output
    r = _invoke("list", "--templates", str(pack))
    assert r.exit_code == 0 and "user.city_guide" in r.output and "ontology.entity_bio" in r.output
    r = _invoke("new", "city_guide", "--dir", str(pack))
    assert r.exit_code == 2 and "exists" in r.output


def test_validate_rejects_a_pack_with_one_broken_template(tmp_path):
    pack = tmp_path / "pack"
    _invoke("new", "good", "--dir", str(pack))
    broken = _write(pack, "broken", "{{ kind.name }} is {{ kind.no_such_field.upper() }}.\n")
    r = _invoke("validate", str(pack))
    assert r.exit_code == 1
    problems = [ln for ln in r.output.splitlines() if ln.startswith(f"{pack}/")]
    assert len(problems) == 1, r.output
    assert problems[0].startswith(f"{broken}:9: ") and "no_such_field" in problems[0]
    assert "1 problem(s) in 2 template(s)" in r.output


def test_validate_lists_every_problem_with_file_and_line(tmp_path):
    pack = tmp_path / "pack"
    syntax = _write(pack, "syntax", "line one\n{% if %}\n")
    nofamily = _write(pack, "nofamily", "x\n", family="no_such_family")
    badfront = _write(pack, "badfront", "x\n", shape="novel")
    noconcepts = pack / "noconcepts.j2"
    noconcepts.write_text(_front("noconcepts") + "x\n")
    wrongkind = _write(pack, "wrongkind", "x\n", kind="logic")
    r = _invoke("validate", str(pack))
    assert r.exit_code == 1
    out = r.output
    assert f"{syntax}:10: " in out
    assert f"{nofamily}:5: unknown family 'no_such_family'" in out
    assert f"{badfront}:6: shape must be one of" in out
    assert f"{noconcepts}:1: declares no concepts" in out
    assert f"{wrongkind}:3: kind is 'logic' but family 'kind_entry' draws ontology items" in out


def test_validate_checks_the_answer_line(tmp_path):
    body = (
        "{% block user %}Is {{ e.name }} {{ target | a }}?{% endblock %}\n"
        "{% block assistant %}Answer: maybe{% endblock %}\n"
    )
    wrong = _write(tmp_path / "pack", "qa", body, family="membership_question", shape="chat")
    r = _invoke("validate", str(tmp_path / "pack"))
    assert r.exit_code == 1 and f"{wrong}: the sample states the answer 'maybe'" in r.output


def test_builtin_pack_renders_over_a_user_world():
    # Every built-in template, dry-rendered over the hand-written guild world.
    r = _invoke("validate", "templates", "--world", str(GUILD), "--seeds", "1")
    assert r.exit_code == 0, r.output


def test_render_previews_samples_over_a_user_world():
    r = _invoke("render", "ontology.qa_attribute", "--world", str(GUILD), "-n", "2", "--seed", "5")
    assert r.exit_code == 0, r.output
    assert r.output.count("── ontology.qa_attribute (en) sample") == 2
    assert "[assistant]" in r.output and "nswer:" in r.output and "(gold answer:" in r.output
    names = [
        "Old Maren",
        "Brok Ironhand",
        "Tam Quickfoot",
        "Ilsa Quill",
        "Ember",
        "Skarn",
        "Pip",
        "Tweet",
        "Corvo",
    ]
    assert any(n in r.output for n in names)


def test_render_unknown_template_is_one_line():
    r = _invoke("render", "no.such.template")
    assert r.exit_code == 2 and "unknown template id 'no.such.template'" in r.output


def test_render_refuses_a_template_generate_leaves_out_for_the_world():
    # What `synth generate` leaves out for a world (nothing to say, or what it builds on
    # is left out) is not previewed with made-up reasoning: one line, exit 2.
    from synth.curriculum.tier import load_tier
    from synth.generation.resolve import fit_to_world
    from synth.templating import TemplateLibrary
    from synth.world import load_world

    zoo = Path(__file__).parents[1] / "data" / "worlds" / "zoo.ttl"
    kept, dropped = fit_to_world(load_tier("ontology"), TemplateLibrary([]), load_world(zoo, 0))
    assert dropped and kept.templates
    for tid in dropped:
        r = _invoke("render", tid, "--world", str(zoo), "-n", "1")
        assert r.exit_code == 2, r.output
        assert r.output.count("\n") == 1 and f"{tid}: has nothing to say about {zoo}" in r.output
    tid = sorted(kept.templates)[0]
    assert _invoke("render", tid, "--world", str(zoo), "-n", "1").exit_code == 0
