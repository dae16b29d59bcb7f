#!/usr/bin/env python3
"""Renders every chat template in Tests/EngineTests/Fixtures/chat-templates/ with Python jinja2,
set up as Hugging Face transformers' apply_chat_template sets it up, and writes the expected
outputs next to the templates as <name>.cases.json. Whetstone's Jinja renderer must reproduce
each output byte for byte (Tests/EngineTests/ChatTemplateRenderingTests.swift).

    python3 scripts/make_chat_template_fixtures.py
    python3 scripts/make_chat_template_fixtures.py --sweep DIR_OF_JINJA_FILES OUT_DIR   # opt-in sweep

Needs only jinja2 (3.1.x). The environment below replicates transformers'
`_compile_jinja_template` / `render_jinja_template`:
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[AssistantTracker, jinja2.ext.loopcontrols])
  filters["tojson"]  = json.dumps(x, ensure_ascii=False, indent=indent, ...)
  globals["raise_exception"], globals["strftime_now"]
  render(messages=..., tools=None or [...], documents=None, add_generation_prompt=..., **special_tokens, **extra)
`strftime_now` reads a fixed clock (NOW) so the outputs do not depend on the day they were made.
A case jinja2 refuses (raise_exception or another error) is recorded as an expected error.
"""

import json
import os
import sys
import warnings
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EngineTests", "Fixtures", "chat-templates")
NOW = datetime(2026, 3, 7, 14, 5, 9)  # the tests pass the same instant (UTC)


class AssistantTracker(Extension):
    """transformers' {% generation %} … {% endgeneration %} tag; renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# Special tokens as each model's tokenizer_config.json names them (None: the model has none).
TEMPLATES = {
    "llama-3.1-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3.2-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "qwen2.5-instruct": (None, "<|im_end|>"),
    "qwen3": (None, "<|im_end|>"),
    "mistral-7b-instruct-v0.3": ("<s>", "</s>"),
    "mistral-nemo-instruct-2407": ("<s>", "</s>"),
    "phi-3-mini-4k-instruct": ("<s>", "<|endoftext|>"),
    "phi-3.5-mini-instruct": ("<s>", "<|endoftext|>"),
    "smollm2-instruct": ("<|im_start|>", "<|im_end|>"),
    "gemma-3-it": ("<bos>", "<eos>"),
    # Further templates of the same architectures.
    "llama-3.3-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "gemma-2-it": ("<bos>", "<eos>"),
    "smollm3": (None, "<|im_end|>"),
    "deepseek-r1-distill-qwen": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city, e.g. 北京 or Paris"},
                    "days": {"type": "integer", "description": "How many days ahead"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    }
]

TOOL_ROUND_TRIP = [
    {"role": "system", "content": "You are a weather bot."},
    {"role": "user", "content": "What's the weather in Paris for the next 2 days?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call12345",
                "type": "function",
                "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2, "threshold": 0.5}},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temperature\": 18.5, \"condition\": \"cloudy\"}"},
    {"role": "assistant", "content": "It is 18.5 °C and cloudy in Paris."},
    {"role": "user", "content": "Thanks!"},
]

CASES = [
    ("system_user", [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello, who are you?"},
    ], True, None, {}),
    ("multi_turn", [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "What is 2+2?"},
    ], True, None, {}),
    ("multi_turn_no_generation_prompt", [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another?"},
        {"role": "assistant", "content": "Green."},
    ], False, None, {}),
    ("no_system", [
        {"role": "user", "content": "Write a haiku about rain."},
    ], True, None, {}),
    ("no_system_no_generation_prompt", [
        {"role": "user", "content": "Say yes."},
        {"role": "assistant", "content": "Yes."},
    ], False, None, {}),
    ("unicode", [
        {"role": "system", "content": "你是一个乐于助人的助手。Réponds en français si on te le demande."},
        {"role": "user", "content": "请用中文介绍一下北京。🙂 «quote» \"double\" 'single' \\ backslash"},
        {"role": "assistant", "content": "北京是中国的首都。"},
        {"role": "user", "content": "谢谢！"},
    ], True, None, {}),
    ("whitespace", [
        {"role": "system", "content": "  \n  Keep the spaces?  \n"},
        {"role": "user", "content": "\n\n  leading and trailing whitespace \t \n"},
        {"role": "assistant", "content": "   padded answer   "},
        {"role": "user", "content": "  again  "},
    ], True, None, {}),
    ("tool_round_trip", TOOL_ROUND_TRIP, True, TOOLS, {}),
    ("tools_offered", [
        {"role": "user", "content": "Is it raining in 北京?"},
    ], True, TOOLS, {}),
    ("roles_not_alternating", [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"},
    ], True, None, {}),
    ("tool_calls_null_content_string_arguments", [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "abc123def", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}},
            {"id": "xyz987uvw", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}},
        ]},
        {"role": "tool", "tool_call_id": "abc123def", "content": "-3"},
        {"role": "tool", "tool_call_id": "xyz987uvw", "content": "21"},
    ], True, TOOLS, {}),
    ("content_parts", [
        {"role": "system", "content": [{"type": "text", "text": "Describe images."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " What is this? "}]},
    ], True, None, {}),
    ("empty_conversation", [], True, None, {}),
    ("thinking", [
        {"role": "user", "content": "What is 3*7?"},
        {"role": "assistant", "content": "<think>\n3 times 7 is 21.\n</think>\n\n21"},
        {"role": "user", "content": "And 4*5?"},
    ], True, None, {"enable_thinking": False}),
]


# Constructs one at a time, for the interpreter's unit tests (jinja-unit-cases.json).
UNIT_CASES = [
 ("trim_blocks", "{% if true %}\nx\n{% endif %}\ny", {}),
 ("lstrip_blocks", "a\n    {% if true %}\n    b\n    {% endif %}\nc", {}),
 ("minus", "a   {{- 'b' -}}   c  {%- if true -%}  d  {%- endif %}", {}),
 ("plus", "a\n  {%+ if true %}b{% endif +%}\nc", {}),
 ("comment", "a\n  {# note #}\nb{#- x -#}  c", {}),
 ("output_keeps_newline", "{{ 'a' }}\n{{ 'b' }}\n", {}),
 ("loop_vars", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }};{% endfor %}", {"items": ["a", "b", "c"]}),
 ("loop_else", "{% for x in [] %}x{% else %}empty{% endfor %}", {}),
 ("loop_filter", "{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", {}),
 ("unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in d|items %}{{ k }}{% endfor %}", {"d": {"x": 1, "y": "z"}}),
 ("break_continue", "{% for n in range(10) %}{% if n == 1 %}{% continue %}{% endif %}{% if n == 4 %}{% break %}{% endif %}{{ n }}{% endfor %}", {}),
 ("scope", "{% set a = 1 %}{% for x in [1, 2] %}{{ a }}{% set a = 5 %}{{ a }}{% endfor %}{{ a }}{% if true %}{% set b = 3 %}{% endif %}{{ b }}", {}),
 ("namespace", "{% set ns = namespace(total=0, seen=false) %}{% for x in [1, 2, 3] %}{% set ns.total = ns.total + x %}{% if x == 2 %}{% set ns.seen = true %}{% endif %}{% endfor %}{{ ns.total }} {{ ns.seen }}", {}),
 ("filters", "{{ '  x  '|trim }}|{{ [1, 2]|length }}|{{ 'ab'|upper }}|{{ 'AB'|lower }}|{{ missing|default('d') }}|{{ ['a', 'b']|join(', ') }}|{{ [3, 4]|first }}{{ [3, 4]|last }}|{{ 'abc'|list }}|{{ 'a-b'|replace('-', '+') }}|{{ 5|string ~ 'x' }}", {}),
 ("tojson", "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ 'é\"\\n'|tojson }}|{{ [1.5, 1e-05, 100.0, none, true]|tojson }}", {"d": {"b": [1, {"c": "北京"}], "a": {}}}),
 ("selectattr", "{{ msgs|selectattr('role', 'equalto', 'user')|list|length }}{{ msgs|rejectattr('role', 'equalto', 'user')|map(attribute='content')|join }}{{ msgs|map(attribute='role')|unique|list }}", {"msgs": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}),
 ("tests", "{{ x is defined }}{{ y is defined }}{{ y is not defined }}{{ n is none }}{{ s is string }}{{ d is mapping }}{{ s is iterable }}{{ l is sequence }}{{ 3 is divisibleby 3 }}{{ 'b' in 'abc' }}{{ 2 not in [1, 2] }}{{ 'k' in d }}", {"x": 1, "n": None, "s": "s", "d": {"k": 1}, "l": [1]}),
 ("expressions", "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 'a' ~ 2 * 3 }} {{ 'x' if false else 'y' }} {{ [1, 2] + [3] }} {{ 'ab' * 2 }} {{ 1 < 2 < 3 }} {{ none }} {{ true and 'v' }} {{ 0 or 'w' }}", {}),
 ("slicing", "{{ 'abcdef'[::-1] }} {{ 'abcdef'[1:] }} {{ [1, 2, 3, 4][1:3] }} {{ [1, 2, 3][-1] }} {{ 'abcdef'[-2:] }} {{ [1, 2, 3, 4, 5][::2] }}", {}),
 ("methods", "{{ ' a b '.strip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'xxhixx'.lstrip('x') }}|{{ 'hello'.startswith('he') }}{{ 'hello'.endswith(('x', 'lo')) }}|{{ d.get('k') }}{{ d.get('z', 'none!') }}|{{ d.keys()|list }}|{{ '\\n\\nx\\n'.rstrip('\\n') }}|{{ 'Hi'.replace('i', 'o') }}", {"d": {"k": 1}}),
 ("repr", "{{ [1, 'a', none, true, 2.5, {'k': \"it's\"}] }}", {}),
 ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ada') }} {{ greet('Bob', punct='?') }}", {}),
 ("block_set", "{% set x %}a{{ 1 + 1 }}b{% endset %}[{{ x }}]", {}),
 ("dict_literal", "{% set d = {'a': 1, 'b': [1, 2]} %}{{ d.a }}{{ d['b'][1] }}{{ d.missing }}|{{ {'k': {'n': 1}}.k.n }}", {}),
 ("unicode_len", "{{ s|length }} {{ s[1] }} {{ s[::-1] }}", {"s": "北京🙂"}),
 ("trailing_newline", "x\n", {}),
 ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", {}),
 ("strftime", "{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j') }}", {}),
 ("dict_get", "[{{ m.get('missing') }}][{{ m.get('missing', 'x') }}][{{ m.get('role') }}]{{ m.get('missing') is none }}", {"m": {"role": "user"}}),
 ("generators", "{{ 'T' if [] | select else 'F' }}{{ 'T' if none | selectattr('a') else 'F' }}{{ [3, 1] | reverse | list }}{{ ['b', 'a', 'b'] | unique | join }}{{ [{'n': 1}] | map(attribute='n') | first }}", {}),
 ("markup_concat", "{{ '<a>'|safe + '<b>' + 'c\\'d' }}|{{ '<x>' ~ '<y>'|safe }}", {}),
 ("dictsort", "{% for k, v in d|dictsort %}{{ k }}={{ v }};{% endfor %}{% for k, v in d|dictsort(by='value', reverse=true) %}{{ k }}{% endfor %}", {"d": {"b": 2, "A": 3, "c": 1}}),
 ("tojson_ascii", "{{ s|tojson(ensure_ascii=True) }} {{ d|tojson(sort_keys=True) }}", {"s": "é北🙂", "d": {"b": 1, "a": [2]}}),
]


def write_unit_cases(env):
    out = []
    for name, source, context in UNIT_CASES:
        out.append({"name": name, "template": source, "context": context,
                    "expected": env.from_string(source).render(**context)})
    with open(os.path.join(HERE, "jinja-unit-cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"jinja-unit-cases: {len(out)} cases", file=sys.stderr)


def write_random_cases(env, count_whitespace=800, count_expressions=1500):
    """Seeded random templates (tag / whitespace-control mixes, and nested expressions over
    filters, tests, operators, methods, slices) with jinja2's output or its error, for
    JinjaTests.randomTemplates: Whetstone must print the same text, or refuse where jinja2 did."""
    import random
    rng = random.Random(20260307)
    texts = ["", " ", "  ", "\n", " \n", "\n  ", "\t", "a", " a ", "\n\n", "x\n  ", "  \t\n y"]
    def sign(plus=True):
        return rng.choice(["", "-", "+"] if plus else ["", "-"])
    def tag():
        kind = rng.choice(["var", "if", "set", "comment", "for"])
        if kind == "var":
            return "{{" + sign(False) + " v " + sign(False) + "}}"
        if kind == "comment":
            return "{#" + sign() + " c " + sign() + "#}"
        if kind == "set":
            return "{%" + sign() + " set q = 1 " + sign() + "%}"
        if kind == "if":
            return "{%" + sign() + " if true " + sign() + "%}" + rng.choice(texts) + "{%" + sign() + " endif " + sign() + "%}"
        return ("{%" + sign() + " for i in [1, 2] " + sign() + "%}" + rng.choice(texts) + "{{ i }}" + rng.choice(texts)
                + "{%" + sign(False) + " endfor " + sign() + "%}")
    atoms = ["1", "0", "-3", "2.5", "1e-7", "100.0", "'ab'", "''", "' x '", "'北京'", "'a,b'", "none", "true", "false",
             "[1, 2, 3]", "[]", "['b', 'a', 'B']", "{'k': 1, 'j': [2]}", "{}", "missing", "s", "l", "d", "n", "(1, 2)",
             "'<&>'", "7", "'Hello World'"]
    binops = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", ">=", "in", "not in", "and", "or"]
    filters = ["length", "trim", "upper", "lower", "tojson", "string", "list", "first", "last", "join(',')", "default('D')",
               "reverse|list", "unique|list", "sort|list", "abs", "int", "float", "title", "capitalize", "replace('a', 'X')",
               "items|list", "tojson(indent=2)", "select|list", "map('string')|list", "sum", "min", "max", "dictsort"]
    tests = ["defined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence", "true", "false",
             "odd", "even", "boolean", "in [1, 'ab']", "equalto 1"]
    methods = [".strip()", ".split(',')", ".split()", ".upper()", ".startswith('a')", ".endswith('b')", ".replace('a', 'b')",
               ".items()|list", ".keys()|list", ".get('k')", ".get('z', 5)", "[0]", "[-1]", "[1:]", "[::-1]", "[:1]", ".k",
               "['k']", ".lstrip(' x')", ".count('a')", ".find('b')"]
    def expr(depth=0):
        r = rng.random()
        if depth > 2 or r < 0.3:
            return rng.choice(atoms)
        if r < 0.55:
            return "(" + expr(depth + 1) + " " + rng.choice(binops) + " " + expr(depth + 1) + ")"
        if r < 0.7:
            return "(" + expr(depth + 1) + "|" + rng.choice(filters) + ")"
        if r < 0.8:
            return "(" + expr(depth + 1) + " is " + rng.choice(["", "not "]) + rng.choice(tests) + ")"
        if r < 0.9:
            return "(" + expr(depth + 1) + ")" + rng.choice(methods)
        if r < 0.95:
            return "(not " + expr(depth + 1) + ")"
        return "(" + expr(depth + 1) + " if " + expr(depth + 1) + " else " + expr(depth + 1) + ")"
    context = {"v": "V", "s": "Some Text", "l": [3, 1, 2], "d": {"b": 2, "a": 1}, "n": None}
    sources = ["".join(rng.choice(texts) + tag() for _ in range(rng.randint(1, 4))) + rng.choice(texts) for _ in range(count_whitespace)]
    sources += ["{{ " + expr() + " }}" for _ in range(count_expressions)]
    cases = []
    for source in sources:
        case = {"template": source}
        try:
            out = env.from_string(source).render(**context)
            # Memory addresses and Python-only reprs: not a text anyone would want to match.
            if any(marker in out for marker in ("object at 0x", "<generator", "dict_items", "dict_keys", "dict_values", "<built-in")):
                continue
            case["expected"] = out
        except Exception as e:
            case["error"] = type(e).__name__
        cases.append(case)
    with open(os.path.join(HERE, "jinja-random-cases.json"), "w", encoding="utf-8") as f:
        json.dump({"context": context, "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"jinja-random-cases: {len(cases)} cases", file=sys.stderr)


def sweep(source_dir, out_dir):
    """Renders every .jinja in source_dir (generic <s> / </s> tokens) into out_dir, for the opt-in
    ChatTemplateRenderingTests.sweep (WHET_JINJA_SWEEP=out_dir). Not committed data."""
    import glob
    env = make_environment()
    os.makedirs(out_dir, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(source_dir, "*.jinja"))):
        name = os.path.basename(path)[:-len(".jinja")]
        with open(path, encoding="utf-8") as f:
            source = f.read()
        try:
            template = env.from_string(source)
        except jinja2.exceptions.TemplateError as e:
            print(f"{name}: jinja2 cannot parse it ({e}); skipped", file=sys.stderr)
            continue
        cases = []
        for case_name, messages, add_generation_prompt, tools, extra in CASES:
            context = {"messages": messages, "tools": tools, "documents": None, "add_generation_prompt": add_generation_prompt,
                       "bos_token": "<s>", "eos_token": "</s>", **extra}
            case = {"name": case_name, "messages": messages, "add_generation_prompt": add_generation_prompt, "tools": tools, "extra": extra}
            try:
                case["expected"] = template.render(**context)
            except Exception as e:
                kind = "raised" if type(e) is jinja2.exceptions.TemplateError else type(e).__name__
                case["error"] = {"kind": kind, "message": str(e)}
            cases.append(case)
        with open(os.path.join(out_dir, name + ".jinja"), "w", encoding="utf-8") as f:
            f.write(source)
        with open(os.path.join(out_dir, name + ".cases.json"), "w", encoding="utf-8") as f:
            json.dump({"template": name + ".jinja", "bos_token": "<s>", "eos_token": "</s>", "cases": cases}, f, ensure_ascii=False)


def main():
    # Random expressions such as (7)[:1] make Python's compiler warn; jinja2's result is what counts.
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    if len(sys.argv) == 4 and sys.argv[1] == "--sweep":
        sweep(sys.argv[2], sys.argv[3])
        return
    env = make_environment()
    write_unit_cases(env)
    write_random_cases(env)
    for name, (bos, eos) in TEMPLATES.items():
        path = os.path.join(HERE, name + ".jinja")
        with open(path, encoding="utf-8") as f:
            source = f.read()
        template = env.from_string(source)
        cases = []
        for case_name, messages, add_generation_prompt, tools, extra in CASES:
            context = {"messages": messages, "tools": tools, "documents": None, "add_generation_prompt": add_generation_prompt}
            if bos is not None:
                context["bos_token"] = bos
            if eos is not None:
                context["eos_token"] = eos
            context.update(extra)
            case = {"name": case_name, "messages": messages, "add_generation_prompt": add_generation_prompt,
                    "tools": tools, "extra": extra}
            try:
                case["expected"] = template.render(**context)
            except jinja2.exceptions.TemplateError as e:
                # raise_exception raises TemplateError itself; jinja2's own errors are subclasses.
                kind = "raised" if type(e) is jinja2.exceptions.TemplateError else type(e).__name__
                case["error"] = {"kind": kind, "message": str(e)}
            except Exception as e:  # TypeError and the like, which HF would raise too
                case["error"] = {"kind": type(e).__name__, "message": str(e)}
            cases.append(case)
        out = {"template": name + ".jinja", "bos_token": bos, "eos_token": eos,
               "now": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "jinja2_version": jinja2.__version__, "cases": cases}
        with open(os.path.join(HERE, name + ".cases.json"), "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)
            f.write("\n")
        errors = sum(1 for c in cases if "error" in c)
        print(f"{name}: {len(cases)} cases, {errors} expected errors", file=sys.stderr)


if __name__ == "__main__":
    main()
