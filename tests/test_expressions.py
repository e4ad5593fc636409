"""The expression language of project files (workbench.project.expressions)."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from workbench.project.expressions import (
    EvaluationError,
    Expr,
    ExpressionError,
    Reference,
    Template,
    UnknownVariable,
    iter_templates,
    parse_expression,
    parse_template,
    references,
    render,
)

SCOPE = {
    "config": {"name": "Acme", "port": 8080, "ratio": 0.5, "debug": False, "empty": "", "nothing": None,
               "tags": ["a", "b"], "weird key": "w"},
    "createdUser": {"id": "u-1", "active": True, "emails": [{"value": "ann@example.com"}, {"value": "b@x"}],
                    "name": {"givenName": "Ann"}, "count": 3},
    "rows": [1, 2, 3],
    "row": {"display name": "Ann B"},
    "i": 1,
    "error": {"message": "boom", "status": 500},
}


def ev(text: str, scope=SCOPE):
    return parse_template(text).evaluate(scope)


def ex(text: str, scope=SCOPE):
    return parse_expression(text).evaluate(scope)


# -- paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("config.name", "Acme"),
    ("config.port", 8080),
    ("createdUser.name.givenName", "Ann"),
    ("createdUser.emails[0].value", "ann@example.com"),
    ("createdUser.emails[1]['value']", "b@x"),
    ('createdUser["emails"][1]["value"]', "b@x"),
    ('row["display name"]', "Ann B"),
    ("config['weird key']", "w"),
    ("rows[-1]", 3),
    ("rows[i]", 2),
    ("createdUser.emails[rows[0]].value", "b@x"),
    ("error.message", "boom"),
    ("config.name[0]", "A"),
    ("(createdUser.name).givenName", "Ann"),
    ("default(createdUser.missing, config).name", "Acme"),
])
def test_path_lookups(text, expected):
    assert ex(text) == expected


def test_keywords_are_allowed_as_keys_after_a_dot():
    assert ex("a.in.not", {"a": {"in": {"not": 7}}}) == 7


def test_attribute_access_on_pydantic_models_and_dataclasses():
    class User(BaseModel):
        id: str
        tags: list[str]

    @dataclass
    class Box:
        user: User
        _secret: str = "hidden"

    scope = {"box": Box(User(id="7", tags=["x"]))}
    assert ex("box.user.id", scope) == "7"
    assert ex("box.user.tags[0]", scope) == "x"
    with pytest.raises(UnknownVariable) as info:
        ex("box.user.model_dump", scope)
    assert info.value.path == "box.user.model_dump"
    with pytest.raises(EvaluationError, match=r"cannot read \._secret of 'box'"):
        ex("box._secret", scope)


def test_plain_objects_are_not_read_with_getattr():
    class Thing:
        x = 1

    with pytest.raises(EvaluationError, match=r"cannot read \.x of 'thing' \(a Thing\)"):
        ex("thing.x", {"thing": Thing()})


# -- type preservation and interpolation ----------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("${config.port}", 8080),
    ("${config.ratio}", 0.5),
    ("${config.debug}", False),
    ("${config.nothing}", None),
    ("${config.tags}", ["a", "b"]),
    ("${createdUser.name}", {"givenName": "Ann"}),
    ("${ config.port }", 8080),
    ("${12}", 12),
    ("${-3}", -3),
    ("${-2.5e1}", -25.0),
    ("${'x'}", "x"),
    ("${null}", None),
])
def test_single_expression_keeps_its_type(text, expected):
    value = ev(text)
    assert value == expected
    assert type(value) is type(expected)
    assert parse_template(text).single is not None


def test_single_returns_the_same_object():
    assert ev("${createdUser.name}") is SCOPE["createdUser"]["name"]


@pytest.mark.parametrize(("text", "expected"), [
    ("port ${config.port}", "port 8080"),
    (" ${config.port}", " 8080"),
    ("${config.name}-${createdUser.id}", "Acme-u-1"),
    ("debug=${config.debug}, active=${createdUser.active}", "debug=false, active=true"),
    ("[${config.nothing}]", "[]"),
    ("tags=${config.tags}", 'tags=["a", "b"]'),
    ("n=${createdUser.name}", 'n={"givenName": "Ann"}'),
    ("r=${config.ratio}", "r=0.5"),
    ("plain text", "plain text"),
    ("", ""),
    ("costs $5 and {braces}", "costs $5 and {braces}"),
    ("ends with $", "ends with $"),
])
def test_interpolation(text, expected):
    assert ev(text) == expected


def test_interpolation_of_unicode_json_and_other_containers():
    from types import MappingProxyType

    assert ev("x=${v}", {"v": {"n": "Zoë"}}) == 'x={"n": "Zoë"}'
    assert ev("x=${v}", {"v": MappingProxyType({"a": (1, None)})}) == 'x={"a": [1, null]}'


def test_interpolation_of_a_circular_value_is_an_evaluation_error():
    loop: list = []
    loop.append(loop)
    with pytest.raises(EvaluationError, match="cannot write list as text"):
        ev("x=${v}", {"v": loop})


@pytest.mark.parametrize(("text", "expected"), [
    ("$${config.name}", "${config.name}"),
    ("a $${b} ${config.name}", "a ${b} Acme"),
    ("$${", "${"),
    ("${'$${'}", "$${"),
    ("${'}'}", "}"),
])
def test_dollar_dollar_brace_escapes(text, expected):
    assert ev(text) == expected


def test_template_attributes():
    literal = parse_template("$${x} costs $5")
    assert literal.is_literal and literal.single is None
    assert literal.parts == ("${x} costs $5",)
    mixed = parse_template("a ${b} c")
    assert not mixed.is_literal and mixed.single is None
    assert mixed.parts[0] == "a " and mixed.parts[2] == " c"
    assert isinstance(mixed.parts[1], Expr)
    assert mixed.source == "a ${b} c"
    assert isinstance(parse_template("${b}").single, Expr)


def test_parse_template_is_cached():
    assert parse_template("${config.name} cached") is parse_template("${config.name} cached")
    assert parse_expression("a == 1") is parse_expression("a == 1")


def test_tomlkit_strings_are_accepted():
    import tomlkit

    doc = tomlkit.parse('v = "hi ${config.name}"')
    template = parse_template(doc["v"])
    assert type(template.source) is str
    assert template.evaluate(SCOPE) == "hi Acme"
    assert render(doc, SCOPE) == {"v": "hi Acme"}


# -- literals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("42", 42), ("-7", -7), ("- 7", -7), ("3.25", 3.25), ("1e3", 1000.0), ("2E-2", 0.02),
    ("'single'", "single"), ('"double"', "double"), ("''", ""),
    (r"'it\'s'", "it's"), (r'"say \"hi\""', 'say "hi"'), (r"'a\nb\tc\\d'", "a\nb\tc\\d"),
    (r"'\u00e9'", "é"), (r"'\ud83d\ude00'", "😀"), (r"'\/'", "/"),
    ("'${not a template}'", "${not a template}"),
    ("true", True), ("false", False), ("null", None),
])
def test_literals(text, expected):
    value = ex(text)
    assert value == expected and type(value) is type(expected)


# -- operators ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("1 == 1", True), ("1 == 2", False), ("1 == 1.0", True), ("'a' == 'a'", True),
    ("config.name == 'Acme'", True), ("createdUser.active == true", True),
    ("true == 1", False), ("0 == false", False), ("null == null", True), ("config.nothing == null", True),
    ("1 != 2", True), ("'a' != 'a'", False), ("1 != true", True),
    ("1 < 2", True), ("2 < 1", False), ("2 <= 2", True), ("3 <= 2", False),
    ("3 > 2", True), ("2 > 3", False), ("2 >= 2", True), ("1 >= 2", False),
    ("'abc' < 'abd'", True), ("1.5 < 2", True),
    ("'cm' in 'Acme'", True), ("'x' in 'Acme'", False),
    ("'a' in config.tags", True), ("'z' in config.tags", False), ("1 in rows", True),
    ("'name' in config", True), ("'zzz' in config", False),
    ("'z' not in config.tags", True), ("'a' not in config.tags", False), ("'port' not in config", False),
    ("true and true", True), ("true and false", False), ("false or true", True), ("false or false", False),
    ("not true", False), ("not false", True), ("not config.empty", True), ("not config.tags", False),
    ("config.port and config.name", True), ("config.empty or config.nothing", False),
    ("(1 == 1)", True),
])
def test_operators(text, expected):
    assert ex(text) is expected


def test_in_list_does_not_confuse_booleans_and_numbers():
    assert ex("1 in xs", {"xs": [True]}) is False
    assert ex("true in xs", {"xs": [1, True]}) is True


@pytest.mark.parametrize(("text", "expected"), [
    ("true or true and false", True),        # and binds tighter than or
    ("(true or true) and false", False),
    ("not true or true", True),              # not binds tighter than or
    ("not (true or true)", False),
    ("not false and false", False),          # not binds tighter than and
    ("not 1 == 2", True),                    # comparison binds tighter than not
    ("not 'a' in config.tags", False),
    ("1 == 1 and 2 == 2 or 1 == 2", True),
    ("false and false or true", True),
    ("false and (false or true)", False),
    ("not not true", True),
])
def test_precedence(text, expected):
    assert ex(text) is expected


def test_and_or_short_circuit():
    assert ex("false and missing.thing") is False
    assert ex("true or missing.thing") is True
    with pytest.raises(UnknownVariable):
        ex("true and missing.thing")


# -- functions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("len(config.tags)", 2), ("len('hello')", 5), ("len(config)", 8), ("len('')", 0),
    ("lower('AbC')", "abc"), ("upper(config.name)", "ACME"), ("trim('  x y \n')", "x y"),
    ("default(createdUser.missing, 'fb')", "fb"),
    ("default(nobody, 'fb')", "fb"),
    ("default(nobody.deep.er[3], 1)", 1),
    ("default(rows[10], -1)", -1),
    ("default(config.nothing, 'was null')", "was null"),
    ("default(config.name, 'fb')", "Acme"),
    ("default(config.empty, 'fb')", ""),
    ("default(config.debug, true)", False),
    ("default(a, default(b, 3))", 3),
    ("len(createdUser.emails) > 1 and lower(config.name) == 'acme'", True),
])
def test_functions(text, expected):
    value = ex(text)
    assert value == expected and type(value) is type(expected)


def test_default_does_not_hide_type_errors():
    with pytest.raises(EvaluationError, match=r"len\(\) expects a string, list or object, not integer"):
        ex("default(len(config.port), 0)")


@pytest.mark.parametrize(("text", "message"), [
    ("len(config.port)", "len() expects a string, list or object, not integer"),
    ("len(config.nothing)", "len() expects a string, list or object, not null"),
    ("lower(config.port)", "lower() expects a string, not integer"),
    ("upper(config.tags)", "upper() expects a string, not list"),
    ("trim(true)", "trim() expects a string, not boolean"),
    ("'a' < 1", "cannot compare string and integer with '<'"),
    ("config.nothing >= 1", "cannot compare null and integer with '>='"),
    ("true > false", "cannot compare boolean and boolean with '>'"),
    ("config.tags <= config.tags", "cannot compare list and list with '<='"),
    ("1 in 'abc'", "'in' a string needs a string on the left, not integer"),
    ("'a' in config.port", "'in' needs a string, list or object on the right, not integer"),
    ("'a' not in null", "'not in' needs a string, list or object on the right, not null"),
    ("config.tags in config", "'in' an object needs a key on the left, not list"),
    ("createdUser.emails.value", "cannot read .value of 'createdUser.emails' (a list)"),
    ("config.port[0]", "cannot read [0] of 'config.port' (an integer)"),
    ("rows['a']", "cannot read .a of 'rows' (a list)"),
    ("rows[config.tags]", "an index must be an integer or a string, not list"),
])
def test_evaluation_errors(text, message):
    with pytest.raises(EvaluationError) as info:
        ex(text)
    assert str(info.value) == message
    assert info.value.source == text


# -- unknown variables ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "path"), [
    ("createdUser.idd", "createdUser.idd"),
    ("createdUser.idd.more", "createdUser.idd"),
    ("nobody", "nobody"),
    ("nobody.x", "nobody"),
    ("createdUser.emails[5].value", "createdUser.emails[5]"),
    ("createdUser.emails[rows[1]]", "createdUser.emails[2]"),
    ("row['other name']", 'row["other name"]'),
    ("config.name[10]", "config.name[10]"),
    ("x[0]", "x"),
    ("default(a, b).c", "b"),
    ("default(a, config).zz", "default(a, config).zz"),
    ("(default(a, config)).zz", "(default(a, config)).zz"),
])
def test_unknown_variable_names_the_path(text, path):
    with pytest.raises(UnknownVariable) as info:
        ex(text)
    assert info.value.path == path
    assert str(info.value) == f"unknown variable '{path}'"


def test_unknown_variable_message_and_location():
    source = "id: ${createdUser.idd}"
    with pytest.raises(UnknownVariable) as info:
        ev(source)
    assert str(info.value) == "unknown variable 'createdUser.idd'"
    assert info.value.position == 6 and info.value.source == source
    assert isinstance(info.value, ExpressionError)


def test_reading_through_null_is_an_unknown_variable():
    with pytest.raises(UnknownVariable) as info:
        ex("config.nothing.x")
    assert info.value.path == "config.nothing.x"
    assert str(info.value) == "unknown variable 'config.nothing.x' ('config.nothing' is null)"
    assert ex("default(config.nothing.x, 9)") == 9


def test_non_dict_mappings_in_scope():
    from collections import ChainMap
    from types import MappingProxyType

    scope = ChainMap({"a": MappingProxyType({"b": (10, 20)})})
    assert ex("a.b[1]", scope) == 20
    with pytest.raises(UnknownVariable) as info:
        ex("a.c", scope)
    assert info.value.path == "a.c"


def test_errors_pickle():
    for exc in (ExpressionError("bad", 3, "src"), UnknownVariable("a.b", 2, "${a.b}"), EvaluationError("x", 1, "y")):
        clone = pickle.loads(pickle.dumps(exc))
        assert type(clone) is type(exc) and str(clone) == str(exc) and clone.position == exc.position


# -- syntax errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message", "position"), [
    ("${a == )}", "unexpected ')'", 7),
    ("${}", "empty expression", 2),
    ("${  }", "empty expression", 4),
    ("${a ==}", "unexpected end of expression", 6),
    ("${a b}", "unexpected 'b'", 4),
    ("${a = 1}", "unexpected character '=' (use '==' to compare)", 4),
    ("${!a}", "unexpected character '!' (use 'not')", 2),
    ("${a && b}", "unexpected character '&' (use 'and')", 4),
    ("${a.}", "expected a name after '.', found end of expression", 4),
    ("${a.0}", "expected a name after '.', found '0'", 4),
    ("${a[0}", "expected ']' to close '[', found end of expression", 5),
    ("${(a}", "expected ')' to close '(', found end of expression", 4),
    ("${len(a}", "expected ')' to close len(, found end of expression", 7),
    ("${len(a, b)}", "len() takes 1 argument (2 given)", 2),
    ("${default(a)}", "default() takes 2 arguments (1 given)", 2),
    ("${foo(1, 2)}", "foo() takes 1 argument, the record to map (2 given); functions: len, lower, upper, trim, "
                     "default, map, and the data mappers", 2),
    ("${map(a)}", "map() takes 2 arguments, a list and a data mapper (1 given)", 2),
    ("${map(a, b.c)}", "map()'s second argument is a data mapper's name, e.g. map(rows, hireToUser)", 2),
    ("${1 < 2 < 3}", "unexpected '<': comparisons cannot be chained (use 'and')", 8),
    ("x ${'abc}", "unterminated string", 4),
    (r"${'a\q'}", "invalid escape '\\q'", 4),
    (r"${'\u12'}", "invalid \\u escape (expected 4 hex digits)", 3),
    (r"${'\ud800'}", "invalid \\u escape (a lone surrogate)", 3),
    ("${12abc}", "invalid number '12a'", 2),
    ("${-a}", "expected a number after '-', found 'a'", 3),
    ("${and}", "unexpected 'and'", 2),
    ("${a in}", "unexpected end of expression", 6),
    ("${a not b}", "unexpected 'not'", 4),
    ("${a[true]}", "an index must be an integer or a string", 4),
    ("${a[1.5]}", "an index must be an integer or a string", 4),
    ("${'x' 'y'}", "unexpected string 'y'", 6),
    ("${a 12}", "unexpected '12'", 4),
    ("${a $ b}", "unexpected character '$'", 4),
    ("${a é}", "unexpected character 'é'", 4),
    ("${" + "9" * 5000 + "}", "number is too long", 2),
])
def test_syntax_errors(text, message, position):
    with pytest.raises(ExpressionError) as info:
        parse_template(text)
    assert type(info.value) is ExpressionError
    assert info.value.message == message
    assert info.value.position == position
    assert info.value.source == text


def test_syntax_error_message_format():
    with pytest.raises(ExpressionError) as info:
        parse_template("${a == )}")
    assert str(info.value) == """unexpected ')' at column 8 in "${a == )}\""""


def test_unterminated_template():
    with pytest.raises(ExpressionError) as info:
        parse_template("hello ${config.name")
    assert str(info.value) == 'unterminated ${ in "hello ${config.name"'
    assert info.value.position == 6


def test_long_sources_are_excerpted_in_messages():
    text = "x" * 300 + "${a == )}" + "y" * 300
    with pytest.raises(ExpressionError) as info:
        parse_template(text)
    message = str(info.value)
    assert "at column 308" in message and "${a == )}" in message and len(message) < 200


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    for text in ("(" * 5000 + "1" + ")" * 5000, "not " * 5000 + "true", "a[" * 3000 + "0" + "]" * 3000,
                 "len(" * 3000 + "'x'" + ")" * 3000):
        with pytest.raises(ExpressionError, match="nested too deeply"):
            parse_expression(text)
    assert parse_expression("(" * 60 + "1" + ")" * 60).evaluate({}) == 1
    assert parse_expression("not " * 60 + "true").evaluate({}) is True
    assert parse_expression("default(null, " * 60 + "7" + ")" * 60).evaluate({}) == 7


# -- parse_expression -----------------------------------------------------------------------------


def test_parse_expression_bare_and_wrapped():
    assert ex("createdUser.active == true") is True
    assert ex("${createdUser.active == true}") is True
    assert ex("  ${ createdUser.count }  ") == 3
    assert ex("createdUser.count") == 3


def test_parse_expression_errors():
    with pytest.raises(ExpressionError, match="expected one expression, not a template"):
        parse_expression("${a} and ${b}")
    with pytest.raises(ExpressionError) as info:
        parse_expression("x == ${a}")
    assert info.value.message.startswith("expected one expression, not a template")
    assert info.value.position == 5
    assert ex("config.name != '${a}'") is True
    with pytest.raises(ExpressionError) as info:
        parse_expression("a ==")
    assert info.value.message == "unexpected end of expression" and info.value.position == 4
    with pytest.raises(ExpressionError) as info:
        parse_expression("a }")
    assert info.value.message == "unexpected character '}'" and info.value.position == 2
    with pytest.raises(ExpressionError, match="empty expression"):
        parse_expression("")


# -- render ---------------------------------------------------------------------------------------


def test_render_nested_structures():
    value = {
        "url": "${config.name}/Users",
        "payload": {"userName": "${createdUser.id}", "count": "${createdUser.count}",
                    "emails": [{"value": "${createdUser.emails[0].value}", "primary": True}],
                    "pair": ("${config.port}", "x")},
        "literal": "no dollars",
        "escaped": "$${config.name}",
        "number": 5,
        "none": None,
    }
    assert render(value, SCOPE) == {
        "url": "Acme/Users",
        "payload": {"userName": "u-1", "count": 3,
                    "emails": [{"value": "ann@example.com", "primary": True}],
                    "pair": (8080, "x")},
        "literal": "no dollars",
        "escaped": "${config.name}",
        "number": 5,
        "none": None,
    }


def test_render_returns_plain_values_untouched():
    text = "no dollar sign"
    obj = object()
    assert render(text, {}) is text
    assert render(obj, {}) is obj
    assert render(7, {}) == 7
    assert render([], {}) == []


def test_render_raises_on_unknown_variables():
    with pytest.raises(UnknownVariable) as info:
        render({"a": ["${createdUser.nope}"]}, SCOPE)
    assert info.value.path == "createdUser.nope"


# -- references -----------------------------------------------------------------------------------


def test_expr_references():
    refs = list(parse_expression(
        "config.scimServiceUrl == x and len(createdUser.emails[0]['value']) > 0 or row['a b'] in rows[i].k"
    ).references())
    assert refs == [
        Reference("config", "config.scimServiceUrl"),
        Reference("x", "x"),
        Reference("createdUser", "createdUser.emails[0].value"),
        Reference("row", 'row["a b"]'),
        Reference("rows", "rows"),
        Reference("i", "i"),
    ]
    assert [r.optional for r in refs] == [False] * 6


def test_references_inside_default_are_optional():
    refs = list(parse_expression("default(createdUser.id, config.fallback)").references())
    assert refs == [Reference("createdUser", "createdUser.id"), Reference("config", "config.fallback")]
    assert [r.optional for r in refs] == [True, False]


def test_literals_have_no_references():
    assert list(parse_expression("1 == 'a' and true").references()) == []
    assert list(parse_template("$${a} text").references()) == []


def test_template_references():
    refs = list(parse_template("${a.b} and ${c[0]} and ${default(d, e).f}").references())
    assert refs == [Reference("a", "a.b"), Reference("c", "c[0]"), Reference("d", "d"), Reference("e", "e")]


def test_nested_references_with_key_paths():
    value = {
        "url": "${config.url}/x",
        "payload": {"name": {"givenName": "${row.first}"}, "emails": [{"value": "${row.email}"}, "plain"]},
        "list": ["a", ["${deep[0]}"]],
        "n": 1,
    }
    assert list(references(value)) == [
        (Reference("config", "config.url"), "url"),
        (Reference("row", "row.first"), "payload.name.givenName"),
        (Reference("row", "row.email"), "payload.emails[0].value"),
        (Reference("deep", "deep[0]"), "list[1][0]"),
    ]
    assert list(references("${top}")) == [(Reference("top", "top"), "")]


def test_references_raise_syntax_errors():
    with pytest.raises(ExpressionError) as info:
        list(references({"a": ["ok", "${x ==}"]}))
    assert info.value.source == "${x ==}"


def test_iter_templates():
    value = {"a": "${x}", "b": ["no", "$${esc}", {"c": "t ${y}"}], "d": 5}
    assert list(iter_templates(value)) == [("a", "${x}"), ("b[1]", "$${esc}"), ("b[2].c", "t ${y}")]
    assert list(iter_templates("${z}")) == [("", "${z}")]
    assert list(iter_templates(["plain", 3])) == []


# -- performance ----------------------------------------------------------------------------------


def test_cached_path_lookup_is_fast():
    import time

    template = "${createdUser.emails[0].value}"
    parse_template(template)
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        parse_template(template).evaluate(SCOPE)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 20e-6, f"{per_call * 1e6:.1f} µs per evaluation"


# -- fuzzing --------------------------------------------------------------------------------------

FRAGMENTS = ["${", "}", "$${", "$", "(", ")", "[", "]", "a", "b", ".", "[0]", "['k']", "'x'", '"y"', "'", '"',
             "\\", "\\u", "==", "!=", "<", "<=", ">", ">=", "=", "!", "not", "in", "and", "or", "len(", "lower(",
             "default(", ",", "-", "1", "1.5e3", "9e", "true", "null", " ", "\n", "é", "{", "_x"]
fuzz_text = st.one_of(
    st.text(),
    st.text(alphabet="${}()[]'\"\\.,-=<>! abnotirdel01_"),
    st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join),
)

FUZZ_SCOPE = {"a": 1, "b": 2.5, "s": "Hello", "t": True, "n": None,
              "items": [1, "x", None, {"k": "v"}, [2]], "obj": {"k": "v", "n": 3, "list": [1, 2], "none": None}}


@settings(max_examples=400, deadline=None)
@given(fuzz_text)
def test_fuzz_parsing_only_raises_expression_error(text):
    for parse in (parse_template, parse_expression):
        try:
            parsed = parse(text)
        except ExpressionError as exc:
            assert isinstance(exc.position, int) and 0 <= exc.position <= len(text)
            assert isinstance(str(exc), str)
            continue
        try:
            parsed.evaluate(FUZZ_SCOPE)
            list(parsed.references())
        except ExpressionError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.text().filter(lambda t: "$" not in t))
def test_fuzz_text_without_dollar_is_literal(text):
    template = parse_template(text)
    assert template.is_literal and template.evaluate({}) == text
    assert render(text, {}) is text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_fuzz_string_literals_round_trip(text):
    assert parse_expression(json.dumps(text)).evaluate({}) == text
    assert parse_template("${" + json.dumps(text, ensure_ascii=False) + "}").evaluate({}) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="$")), st.text(alphabet=st.characters(blacklist_characters="$")))
def test_fuzz_escape_round_trip(before, after):
    assert parse_template(before + "$${x}" + after).evaluate({}) == before + "${x}" + after


names = st.sampled_from(["a", "b", "s", "t", "n", "items", "obj", "missing"])
keys = st.one_of(st.sampled_from([".k", ".n", ".list", ".none", ".zz", "['k']", '["n"]']),
                 st.integers(-6, 6).map(lambda i: f"[{i}]"))
paths = st.builds(lambda name, ks: name + "".join(ks), names, st.lists(keys, max_size=3))
literals = st.one_of(
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=8).map(json.dumps),
    st.sampled_from(["true", "false", "null"]),
)
OPS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"]


expressions = st.deferred(lambda: st.one_of(
    paths, paths, literals, literals,
    st.tuples(expressions, st.sampled_from(OPS), expressions).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    expressions.map(lambda e: f"(not {e})"),
    st.tuples(st.sampled_from(["len", "lower", "upper", "trim"]), expressions).map(lambda t: f"{t[0]}({t[1]})"),
    st.tuples(expressions, expressions).map(lambda t: f"default({t[0]}, {t[1]})"),
    # a computed index (a literal index other than an int or a string is a syntax error)
    st.tuples(expressions, expressions).map(lambda t: f"({t[0]})[default(null, {t[1]})]"),
    st.tuples(paths, expressions).map(lambda t: f"{t[0]}[default(null, {t[1]})]"),
))


@settings(max_examples=500, deadline=None)
@given(expressions)
def test_fuzz_valid_expressions_evaluate_or_raise_expression_error(text):
    try:
        expr = parse_expression(text)  # generated expressions are valid...
    except ExpressionError as exc:  # ...unless hypothesis nested them past the limit
        assert exc.message == "expression is nested too deeply"
        reject()
    try:
        expr.evaluate(FUZZ_SCOPE)
    except ExpressionError as exc:
        assert str(exc)
    for ref in expr.references():
        assert ref.root in {"a", "b", "s", "t", "n", "items", "obj", "missing"}
        assert ref.path.startswith(ref.root)
    template = parse_template("v=${" + text + "}")
    try:
        assert isinstance(template.evaluate(FUZZ_SCOPE), str)
    except ExpressionError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**30, 10**30), st.integers(-10**30, 10**30))
def test_fuzz_integer_comparisons_match_python(x, y):
    scope = {"x": x, "y": y}
    assert ex("${x}", scope) == x and ex(str(x)) == x
    assert ex("x < y", scope) is (x < y)
    assert ex("x == y", scope) is (x == y)
    assert ex(f"{x} >= {y}") is (x >= y)
