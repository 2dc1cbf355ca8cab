"""`./dev mutants`: mutation testing of the rules with mutmut, and the score per module.

    ./dev mutants            every module in [tool.mutmut] only_mutate (pyproject.toml)
    ./dev mutants --quick    the quick subset ([tool.mutmut] quick_only_mutate, tested by
                             quick_tests): what CI runs, in a few minutes
    ./dev mutants --report   only print the score of the last run (mutants/*.meta)
    ./dev mutants --retry    test again only the mutants that survived the last run (after
                             adding tests: mutmut keeps earlier results otherwise)
    ./dev mutants --fresh    forget the last run's results (mutants/) and start over

mutmut keeps its results in mutants/ and tests again only what changed, so a second
`./dev mutants` is quick; the first (or `--fresh`) takes the time the README states.
`--quick` always starts afresh, so that CI judges the code as it is.

mutmut copies the product and the tests into mutants/, changes one thing at a time in
the modules it mutates (a `<` becomes `<=`, a string another, an argument None...) and
runs the tests that reach the changed function: a mutant is killed when one of them
fails, and survives when all pass. A surviving mutant is either a rule no test checks
(write the test) or a change that cannot alter behaviour: such equivalent mutants are
listed, each with its reason, in tests/mutants/equivalent.txt.

The run always uses SQLite (TEST_DATABASE_URL is dropped): PostgreSQL would double the
time and the rules are the same. The quick subset runs in its own copy of the checkout
(.mutants-quick/), so its results never mix with the full run's.

Exit status: 0 when every surviving mutant is listed as equivalent, 1 otherwise (each
unlisted survivor is printed, with `mutmut show NAME` to see its diff).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = ROOT / "tests" / "mutants" / "equivalent.txt"
QUICK_DIR = ROOT / ".mutants-quick"
MUTMUT = Path(sys.executable).with_name("mutmut")

# mutmut's exit codes per mutant (mutmut/stats.py), grouped as this report counts them.
KILLED = {1, 3, 37}
SURVIVED = {0}
TIMEOUT = {36, -24, 24, 152, 255}
NO_TESTS = {5, 33}


@dataclass
class Score:
    module: str
    total: int = 0
    killed: int = 0
    equivalent: int = 0
    survived: int = 0
    timeout: int = 0
    no_tests: int = 0
    unchecked: int = 0
    other: int = 0

    @property
    def percent(self) -> float:
        """Killed (timeouts count as killed: the mutant hung a test) out of the mutants
        that can be killed (the listed equivalents cannot)."""
        killable = self.total - self.equivalent - self.unchecked
        return 100.0 * (self.killed + self.timeout) / killable if killable else 100.0


def mutmut_config(root: Path = ROOT) -> dict[str, object]:
    with open(root / "pyproject.toml", "rb") as f:
        config: dict[str, object] = tomllib.load(f)["tool"]["mutmut"]
    return config


def load_equivalents() -> dict[str, str]:
    """Mutant name -> why it is equivalent. One per line: `NAME  reason`; # comments."""
    found: dict[str, str] = {}
    for number, line in enumerate(EQUIVALENT.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{EQUIVALENT}:{number}: {name} has no reason; say why it is equivalent")
        found[name] = reason.strip()
    return found


def scores(workdir: Path, modules: list[str], equivalents: dict[str, str]) -> list[Score]:
    result = []
    for path in modules:
        score = Score(path)
        meta = workdir / "mutants" / (path + ".meta")
        if meta.exists():
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            for name, code in codes.items():
                score.total += 1
                if code in KILLED:
                    score.killed += 1
                elif name in equivalents:
                    score.equivalent += 1
                elif code in SURVIVED:
                    score.survived += 1
                elif code in TIMEOUT:
                    score.timeout += 1
                elif code in NO_TESTS:
                    score.no_tests += 1
                elif code is None:
                    score.unchecked += 1
                else:
                    score.other += 1
        result.append(score)
    return result


def survivors(workdir: Path, modules: list[str], equivalents: dict[str, str]) -> list[str]:
    """Mutants that no test killed and that are not listed as equivalent."""
    found = []
    for path in modules:
        meta = workdir / "mutants" / (path + ".meta")
        if not meta.exists():
            continue
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if (
                code not in KILLED
                and code not in TIMEOUT
                and code is not None
                and (name not in equivalents)
            ):
                found.append(name)
    return found


def print_scores(rows: list[Score]) -> None:
    print()
    header = (
        f"{'module':30} {'killed':>7} {'total':>6} {'equiv':>6} {'alive':>6} {'unrun':>6} "
        f"{'score':>7}"
    )
    print(header)
    print("-" * len(header))
    for s in rows:
        alive = s.survived + s.no_tests + s.other
        killed = s.killed + s.timeout
        print(
            f"{s.module:30} {killed:>7} {s.total:>6} {s.equivalent:>6} {alive:>6} "
            f"{s.unchecked:>6} {s.percent:>6.1f}%"
        )
    total = Score("all", *(sum(getattr(s, f) for s in rows) for f in _COUNTS))
    print("-" * len(header))
    alive = total.survived + total.no_tests + total.other
    print(
        f"{'all':30} {total.killed + total.timeout:>7} {total.total:>6} "
        f"{total.equivalent:>6} {alive:>6} {total.unchecked:>6} {total.percent:>6.1f}%"
    )
    print("score = killed / (total - listed equivalents - unrun); alive = survived or not")
    print("reached by a test; unrun = not tested yet (the run was stopped)")


_COUNTS = (
    "total",
    "killed",
    "equivalent",
    "survived",
    "timeout",
    "no_tests",
    "unchecked",
    "other",
)


def prepare_quick(config: dict[str, object], *, keep_results: bool = False) -> Path:
    """A copy of the product and tests in .mutants-quick/ whose pyproject.toml tells
    mutmut to mutate only the quick subset and to run only its tests. `keep_results`
    keeps the last run's mutants/ (for --retry) and refreshes the rest."""
    if not keep_results:
        shutil.rmtree(QUICK_DIR, ignore_errors=True)
    QUICK_DIR.mkdir(exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "mutants")
    for name in ("bot", "handlers", "storage", "tests"):
        shutil.rmtree(QUICK_DIR / name, ignore_errors=True)
        shutil.copytree(ROOT / name, QUICK_DIR / name, ignore=ignore)
    with open(ROOT / "pyproject.toml", "rb") as f:
        pytest_ini = tomllib.load(f)["tool"]["pytest"]["ini_options"]
    quick = dict(config)
    quick["only_mutate"] = config["quick_only_mutate"]
    quick["pytest_add_cli_args_test_selection"] = config["quick_tests"]
    lines = ["[tool.pytest.ini_options]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in pytest_ini.items()]
    lines += ["", "[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in quick.items()]
    (QUICK_DIR / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return QUICK_DIR


def run_mutmut(workdir: Path, names: list[str] | None = None) -> None:
    env = dict(os.environ)
    env.pop("TEST_DATABASE_URL", None)
    result = subprocess.run([str(MUTMUT), "run", *(names or [])], cwd=workdir, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"mutmut run failed (exit {result.returncode})")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    report_only = "--report" in argv
    retry = "--retry" in argv
    fresh = "--fresh" in argv
    unknown = [a for a in argv if a not in ("--quick", "--report", "--retry", "--fresh")]
    if unknown:
        print(__doc__)
        return 2
    config = mutmut_config()
    equivalents = load_equivalents()
    modules = [str(m) for m in config["quick_only_mutate" if quick else "only_mutate"]]  # type: ignore[attr-defined]
    workdir = QUICK_DIR if quick else ROOT
    if quick and not report_only:
        prepare_quick(config, keep_results=retry)
    if fresh and not quick:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    if retry:
        again = survivors(workdir, modules, equivalents)
        if again:
            run_mutmut(workdir, again)
    elif not report_only:
        run_mutmut(workdir)
    rows = scores(workdir, modules, equivalents)
    print_scores(rows)
    unrun = sum(s.unchecked for s in rows)
    alive = survivors(workdir, modules, equivalents)
    if unrun:
        print(f"\n{unrun} mutants were not tested (the run was stopped): ./dev mutants goes on")
    if alive:
        where = " (in .mutants-quick/)" if quick else ""
        listed = EQUIVALENT.relative_to(ROOT)
        print(f"\n{len(alive)} mutants survive that are not listed in {listed}:")
        for name in alive:
            print(f"  {name}")
        print(f"See one with `.venv/bin/mutmut show NAME`{where}; kill it with a test, or list")
        print("it as equivalent with the reason no test can tell it from the original.")
        return 1
    return 1 if unrun else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
