#!/usr/bin/env python3
"""check_includes.py [REPO]: the include graph of src/ keeps the layout's rules.

- src/core includes nothing of src/pg (the core has no PostgreSQL in it).
- In src/pg, a folder includes only its own headers and those of the folders
  below it, in the order src/pg/README.md states ("Folders include downwards
  only: `api` -> ... -> `common`"), except the headers that README names as
  "The one exception is `...`".
- No two modules include each other's headers, directly or around a longer
  cycle. A module is a .cpp with its .hpp (pg/store/write.cpp and
  pg/store/write.hpp are one module).

Prints each violation and exits 1; prints a one-line summary and exits 0.
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"((?:core|pg)/[^"]+)"', re.MULTILINE)


def layout_rules(readme: str):
    order = re.search(r"Folders include downwards only:([^.]*)\.", readme)
    if not order:
        sys.exit("src/pg/README.md: no 'Folders include downwards only: ...' sentence")
    folders = re.findall(r"`([a-z_]+)`", order.group(1))
    exception = re.search(r"The one exception is ([^(]*)", readme)
    exceptions = set(re.findall(r"`([a-z_]+/[a-z_]+\.hpp)`", exception.group(1))) if exception else set()
    return {name: rank for rank, name in enumerate(folders)}, {"pg/" + e for e in exceptions}


def module_of(path: str) -> str:
    return path.rsplit(".", 1)[0]


def main() -> int:
    repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
    src = repo / "src"
    rank, exceptions = layout_rules((src / "pg" / "README.md").read_text())
    problems = []
    edges = {}  # module -> {module: the file that includes it}
    files = sorted(p for p in src.rglob("*") if p.suffix in (".cpp", ".hpp", ".h"))
    for file in files:
        name = file.relative_to(src).as_posix()
        parts = name.split("/")
        for header in INCLUDE.findall(file.read_text(errors="replace")):
            if not (src / header).exists():
                problems.append(f"{name}: includes {header}, which does not exist")
                continue
            target = header.split("/")
            if parts[0] == "core" and target[0] == "pg":
                problems.append(f"{name}: the core includes the glue's {header}")
            if parts[0] == "pg" and target[0] == "pg" and len(parts) > 2 and len(target) > 2:
                here, there = parts[1], target[1]
                if here not in rank or there not in rank:
                    problems.append(
                        f"{name}: folder pg/{here if here not in rank else there} is not in "
                        "src/pg/README.md's include order")
                elif rank[there] < rank[here] and header not in exceptions:
                    problems.append(f"{name}: includes {header}, a folder above pg/{here}")
            a, b = module_of(name), module_of(header)
            if a != b:
                edges.setdefault(a, {}).setdefault(b, name)

    # Cycles between modules: a depth-first search that reports each cycle once.
    state = {}  # module -> 1 on the path, 2 done
    path = []
    cycles = []

    def visit(module):
        state[module] = 1
        path.append(module)
        for nxt in sorted(edges.get(module, {})):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[module] = 2

    sys.setrecursionlimit(10000)
    for module in sorted(edges):
        if module not in state:
            visit(module)
    for cycle in cycles:
        steps = [f"{edges[a][b]} includes {b}.hpp" for a, b in zip(cycle, cycle[1:])]
        problems.append("include cycle: " + "; ".join(steps))

    for problem in problems:
        print(problem)
    if problems:
        return 1
    count = sum(len(v) for v in edges.values())
    print(f"includes: {len(files)} files, {count} module edges, no cycle, "
          f"folders in the order of src/pg/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
