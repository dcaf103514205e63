"""docs.config_reference: every key app/config.cpp (and the files of its
sections, app/config_*.cpp) takes is in docs/configuration.md.

The keys come from the code itself: each `onlyKeys(table, PREFIX, {...})`
call lists the keys a table may hold, PREFIX being the table's name as the
refusal messages spell it ("sip.tls.", "app_server." + name + ".",
"sip.auth.user[" + i + "]."). PREFIX is evaluated by following the
variables it is built from back to their last assignment; whatever is not a
string literal (a name, an index) becomes "*", and "[*]" and "*." are then
dropped: "app_server[*]." -> "app_server.", "app_server.*.basic_auth." ->
"app_server.basic_auth.".

In the reference, a table is a heading "## `[name]`" or "## `[[name]]`"
followed by a Markdown table whose rows start with "| `key` |" (a dotted
key such as `basic_auth.user` names a key of a sub-table). A key is
documented when its full name is a heading's name or a heading's name plus
a row's key.

Usage: check_config_reference.py CONFIG_CPP [MORE_CPP ...] CONFIGURATION_MD
"""

import re
import sys


def string_expr(expr: str, text: str, pos: int, depth: int = 0) -> str:
    """The value of a C++ string expression at `pos` in `text`."""
    if depth > 10:
        raise ValueError(f"cannot resolve {expr!r}")
    out = ""
    for part in split_plus(expr.strip()):
        part = part.strip()
        if m := re.fullmatch(r'"((?:[^"\\]|\\.)*)"', part):
            out += m.group(1)
        elif re.fullmatch(r"[A-Za-z_]\w*", part):
            # the last assignment to this variable before pos
            assigns = list(re.finditer(
                rf"(?:\bstd::string\s+|\bconst\s+std::string\s+|[;{{}}]\s*){part}\s*=\s*([^;]+);",
                text[:pos]))
            if not assigns:
                out += "*"  # a parameter or a member: a name
            else:
                a = assigns[-1]
                out += string_expr(a.group(1), text, a.start(), depth + 1)
        else:
            out += "*"  # std::to_string(i), a.rights.name, ...
    return out


def split_plus(expr: str) -> list:
    """Splits on top-level '+' (outside strings and parentheses)."""
    parts, depth, cur, in_str, i = [], 0, "", False, 0
    while i < len(expr):
        c = expr[i]
        if in_str:
            cur += c
            if c == "\\":
                cur += expr[i + 1]
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            cur += c
        elif c in "([":
            depth += 1
            cur += c
        elif c in ")]":
            depth -= 1
            cur += c
        elif c == "+" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    parts.append(cur)
    return parts


def normalize(prefix: str) -> str:
    prefix = prefix.replace("[*]", "")
    while "*." in prefix:
        prefix = prefix.replace("*.", "")
    return prefix


def code_keys(cpp: str) -> set:
    keys = set()
    calls = list(re.finditer(r"(?<!void )onlyKeys\(\s*([^,(){};]+),\s*([^{};]+?),\s*\{([^}]*)\}\s*\)",
                             cpp, re.S))
    if len(calls) < 10:
        raise SystemExit(f"only {len(calls)} onlyKeys calls found in the code: has it changed "
                         "shape? Update tests/docs/check_config_reference.py")
    for call in calls:
        prefix = normalize(string_expr(call.group(2), cpp, call.start()))
        names = re.findall(r'"([^"]+)"', call.group(3))
        if not names:
            raise SystemExit(f"no keys in {call.group(0)!r}")
        for name in names:
            keys.add(prefix + name)
    return keys


def documented_keys(md: str) -> set:
    keys = set()
    heading = None
    for line in md.splitlines():
        if m := re.match(r"^#+ `\[\[?([a-z_.0-9]+)\]?\]`", line):
            heading = m.group(1)
            keys.add(heading)
            parts = heading.split(".")
            for i in range(1, len(parts)):  # [sip.tls] also names sip and sip.tls
                keys.add(".".join(parts[:i]))
        elif line.startswith("#"):
            heading = None
        elif heading and (m := re.match(r"^\| `([a-z_.0-9]+)` \|", line)):
            keys.add(f"{heading}.{m.group(1)}")
    return keys


def main() -> int:
    cpp_paths, md_path = sys.argv[1:-1], sys.argv[-1]
    sources = []
    for path in cpp_paths:
        with open(path) as f:
            sources.append(f.read())
    code = code_keys("\n".join(sources))
    cpp_path = " ".join(cpp_paths)
    with open(md_path) as f:
        docs = documented_keys(f.read())
    missing = sorted(code - docs)
    stale = sorted(k for k in docs - code if not any(c.startswith(k + ".") for c in code))
    print(f"{len(code)} keys in {cpp_path}, {len(docs)} in {md_path}")
    for k in missing:
        print(f"missing from {md_path}: {k}")
    for k in stale:
        print(f"in {md_path} but not taken by {cpp_path}: {k}")
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
