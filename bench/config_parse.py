"""Benchmark: time and peak memory of `config.parse` on 1 MiB hostile documents (one flow mapping, one flow
sequence, a block mapping, a list of aliases, an alias bomb, deep block nesting, comments, one long scalar),
each in a fresh child process, against PyYAML's pure-Python composer on the flow mapping as the in-run
baseline (what the parser used before the node budget).

Run: .venv/bin/python bench/config_parse.py
Target: every shape answers (ParseError or a config) within 2 s.
"""

from __future__ import annotations

import multiprocessing
import resource
import time

import yaml

SIZE = 1 << 20


def _fill(head: str, unit: str, tail: str = "") -> str:
    return head + unit * ((SIZE - len(head) - len(tail)) // len(unit)) + tail


def _shapes() -> dict[str, str]:
    keys = ", ".join(f"k{i}: 1" for i in range(12000))
    models = ", ".join(f"m{i}: *a" for i in range(12000))
    return {
        "flow-mapping": "{"
        + ", ".join(f"k{i}: 1" for i in range(110_000))[: SIZE - 16].rsplit(",", 1)[0]
        + "}",
        "flow-sequence": _fill("[", "1, ", "1]"),
        "block-mapping": "".join(f"k{i}: {i}\n" for i in range(120_000))[:SIZE].rsplit("\n", 1)[0] + "\n",
        "alias-list": "a: &a [1, 2]\nb: [" + _fill("", "*a, ", "*a]")[: SIZE - 20],
        "alias-bomb": f"x: &a {{{keys}}}\npricing: {{models: {{{models}}}}}\n",
        "deep-block": "".join(" " * i + "a:\n" for i in range(1400)),
        "comments": _fill("", "# comment\n"),
        "long-scalar": _fill("log_level: ", "x", "\n"),
    }


def _measure(name: str, text: str, pure_python: bool, results: multiprocessing.Queue) -> None:
    from tracker.config import ConfigError, parse

    started = time.perf_counter()
    if pure_python:
        outcome = "composed"
        yaml.compose(text, Loader=yaml.SafeLoader)
    else:
        try:
            parse(text)
            outcome = "parsed"
        except ConfigError as error:
            outcome = str(error).split("\n")[0][:70]
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put((name, elapsed, peak_mb, outcome))


def _run(name: str, text: str, *, pure_python: bool = False) -> tuple[str, float, float, str]:
    results: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_measure, args=(name, text, pure_python, results))
    child.start()
    result = results.get()
    child.join()
    return result


def main() -> None:
    shapes = _shapes()
    worst = 0.0
    for name, text in shapes.items():
        _, elapsed, peak_mb, outcome = _run(name, text)
        worst = max(worst, elapsed)
        print(
            f"config parse {name:14s} {len(text.encode()):8d} B {elapsed:6.2f} s {peak_mb:5.0f} MB  {outcome}"
        )
    _, baseline, baseline_mb, _ = _run("flow-mapping", shapes["flow-mapping"], pure_python=True)
    print(
        f"baseline: PyYAML pure-Python compose of the flow mapping {baseline:6.2f} s  {baseline_mb:6.0f} MB"
    )
    print(f"worst shape {worst:.2f} s (target ≤ 2 s): {'met' if worst <= 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
