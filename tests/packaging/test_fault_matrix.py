"""The fault matrix (docs/fault-matrix.md) names real tests, and keeps every row it must have.

A check of the repository itself (no build, no bed):

- every test the table names exists: for `binary::module::function`, the binary
  (tests/tests/<binary>.rs or tests/tests/<binary>/main.rs), each module file as rustc would find
  it (`mod name;`, `#[path = "..."]`), and a function of that name under a `#[test]` or
  `#[tokio::test]` attribute in the last one; for `tests/....py::function`, the file and a
  `def function(` in it;
- every fault the matrix must cover still starts a row (the issue's list, REQUIRED_FAULTS);
- a row either names tests or says "not covered yet"; the rows not covered yet are printed.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "docs" / "fault-matrix.md"
RUST_TESTS = ROOT / "tests" / "tests"

# The rows the matrix must keep (issue 16): a row's fault starts with one of these.
REQUIRED_FAULTS = (
    "broker down",
    "broker back",
    "broker slow",
    "all brokers down",
    "coordinator moved",
    "Flink down",
    "Flink 500",
    "Flink garbage",
    "Flink hang",
    "Flink huge body",
    "job vanished",
    "PostgreSQL down",
    "malformed queries",
    "malformed settings",
    "50 concurrent queries",
    "50 queries in one request",
    "settings changed under load",
    "SASL/TLS misconfig",
    "denied group ACL",
    "leaderless partition",
    "topic deleted mid-query",
    "TaskManager killed",
    "JobManager paused",
    "sink blocked",
    "job cancelled",
    "secrets never echoed",
    "a query's timeoutSeconds",
    "bad per-query thresholds",
    "CLI misuse",
)
COLUMNS = ["fault", "what the user sees", "in how long", "test"]
NOT_COVERED = "not covered yet"

RUST_ID = re.compile(r"^[a-z_][a-z0-9_]*(::[a-z_][a-z0-9_]*)+$")
PYTHON_ID = re.compile(r"^tests/[A-Za-z0-9_./-]+\.py(::[A-Za-z_][A-Za-z0-9_]*)+$")
BACKTICKED = re.compile(r"`([^`]+)`")


def cells(line):
    """The cells of one table line `| a | b |`, stripped."""
    inner = line.strip()
    assert inner.startswith("|") and inner.endswith("|"), f"not a table line: {line}"
    return [c.strip() for c in inner[1:-1].split("|")]


def matrix_rows(text):
    """(line number, {column: cell}) of every row of the table whose header is COLUMNS."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith("|") and cells(line) == COLUMNS]
    assert len(starts) == 1, f"{MATRIX.name}: expected one table with the header {COLUMNS}, found {len(starts)}"
    start = starts[0]
    assert re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", lines[start + 1].strip()), "no separator after the header"
    rows = []
    for n, line in enumerate(lines[start + 2:], start=start + 3):
        if not line.strip().startswith("|"):
            break
        row = cells(line)
        assert len(row) == len(COLUMNS), f"{MATRIX.name}:{n}: {len(row)} cells, not {len(COLUMNS)} (a '|' in a cell?)"
        rows.append((n, dict(zip(COLUMNS, row))))
    return rows


def fault_name(cell):
    return cell.replace("**", "").strip()


def named_tests(cell):
    """The tests a test cell names (backticked), or None for a row not covered yet."""
    if cell.lower().startswith(NOT_COVERED):
        assert not BACKTICKED.search(cell), f"a row not covered yet names a test: {cell}"
        return None
    ids = BACKTICKED.findall(cell)
    leftover = BACKTICKED.sub("", cell).replace("<br>", "").replace(",", "").strip()
    assert ids and not leftover, f"a test cell holds test names only, or starts with '{NOT_COVERED}': {cell!r}"
    return ids


# --- finding a Rust test ------------------------------------------------------------------------

def strip_comments(source):
    """The source without // and /* */ comments (so a commented-out test does not count)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return re.sub(r"//[^\n]*", "", source)


def binary_root(binary):
    """The crate root of an integration-test binary, and the folder its `mod x;` files are in."""
    single, folder = RUST_TESTS / f"{binary}.rs", RUST_TESTS / binary / "main.rs"
    if single.is_file():
        return single, single.parent
    if folder.is_file():
        return folder, folder.parent
    raise AssertionError(f"no test binary `{binary}`: neither {single.relative_to(ROOT)} nor {folder.relative_to(ROOT)}")


def child_module(parent, child_dir, name):
    """The file of `mod name;` declared in `parent` (rustc's rules, `#[path]` included), and the
    folder that file's own `mod`s are in."""
    source = strip_comments(parent.read_text())
    decl = re.search(
        r"((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([^)]*\))?\s+)?mod\s+" + re.escape(name) + r"\s*([;{])", source)
    assert decl, f"{parent.relative_to(ROOT)} declares no `mod {name};`"
    assert decl.group(2) == ";", f"`mod {name}` is inline in {parent.relative_to(ROOT)}: name a file module"
    path = re.search(r'#\[path\s*=\s*"([^"]+)"\]', decl.group(1))
    if path:
        found = (parent.parent / path.group(1)).resolve()
        assert found.is_file(), f"`#[path]` of `mod {name}` in {parent.relative_to(ROOT)}: no {found}"
        return found, found.parent / found.stem
    for candidate, inner in ((child_dir / f"{name}.rs", child_dir / name), (child_dir / name / "mod.rs", child_dir / name)):
        if candidate.is_file():
            return candidate, inner
    raise AssertionError(f"`mod {name}` of {parent.relative_to(ROOT)}: no {child_dir.relative_to(ROOT)}/{name}.rs or {name}/mod.rs")


def rust_test_file(test_id):
    """The file that must hold the test `binary::module::...::function`, and the function."""
    binary, *modules, function = test_id.split("::")
    file, child_dir = binary_root(binary)
    for module in modules:
        file, child_dir = child_module(file, child_dir, module)
    return file, function


def has_rust_test(file, function):
    """`fn function(` right after a `#[test]` or `#[tokio::test(...)]` (other attributes may sit between)."""
    pattern = (r"#\[\s*(?:tokio::)?test\s*(?:\([^)]*\))?\s*\]\s*(?:#\[[^\]]*\]\s*)*"
               r"(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+" + re.escape(function) + r"\s*\(")
    return re.search(pattern, strip_comments(file.read_text())) is not None


def python_test_problem(test_id):
    path, *names = test_id.split("::")
    file = ROOT / path
    if not file.is_file():
        return f"no file {path}"
    if not re.search(r"^\s*(?:async\s+)?def\s+" + re.escape(names[-1]) + r"\s*\(", file.read_text(), flags=re.M):
        return f"no `def {names[-1]}(` in {path}"
    return None


def problem_of(test_id):
    """Why `test_id` does not name an existing test, or None."""
    if PYTHON_ID.match(test_id):
        return python_test_problem(test_id)
    if not RUST_ID.match(test_id):
        return "not `binary::module::function` nor `tests/....py::function`"
    try:
        file, function = rust_test_file(test_id)
    except AssertionError as e:
        return str(e)
    if not has_rust_test(file, function):
        return f"no `#[test]`/`#[tokio::test]` `fn {function}(` in {file.relative_to(ROOT)}"
    return None


# --- the checks ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rows():
    return matrix_rows(MATRIX.read_text())


def test_the_readme_links_the_matrix():
    assert "docs/fault-matrix.md" in (ROOT / "README.md").read_text()


def test_every_named_test_exists(rows):
    problems = []
    named = 0
    for n, row in rows:
        for test_id in named_tests(row["test"]) or []:
            named += 1
            problem = problem_of(test_id)
            if problem:
                problems.append(f"{MATRIX.name}:{n} ({fault_name(row['fault'])}): `{test_id}`: {problem}")
    assert named, "the matrix names no test"
    assert not problems, "\n".join(problems)


def test_every_required_fault_has_a_row(rows):
    faults = [fault_name(row["fault"]).lower() for _, row in rows]
    missing = [f for f in REQUIRED_FAULTS if not any(name.startswith(f.lower()) for name in faults)]
    assert not missing, f"rows dropped from {MATRIX.name}: {missing}"


def test_every_row_is_filled_in(rows):
    for n, row in rows:
        for column in COLUMNS[:2]:
            assert row[column], f"{MATRIX.name}:{n}: empty `{column}`"
        if named_tests(row["test"]) is not None:
            assert row["in how long"] not in ("", "—", "-"), f"{MATRIX.name}:{n}: a covered row says how soon"


def test_rows_not_covered_yet_are_listed(rows, capsys):
    uncovered = [fault_name(row["fault"]) for _, row in rows if named_tests(row["test"]) is None]
    with capsys.disabled():
        print(f"\nfault matrix: {len(rows) - len(uncovered)} rows covered, {len(uncovered)} not covered yet:")
        for fault in uncovered:
            print(f"  not covered yet: {fault}")
    assert len(uncovered) < len(rows)


@pytest.mark.parametrize("test_id, problem", [
    ("flink_faults::a_hung_flink_times_out", "no `#[test]`/`#[tokio::test]` `fn a_hung_flink_times_out(`"),
    ("no_such_suite::a_test", "no test binary `no_such_suite`"),
    ("kafka_real::no_such_module::a_test", "declares no `mod no_such_module;`"),
    ("foundation::cli::a_malformed_query_fails_alone", "no `#[test]`/`#[tokio::test]`"),
    ("tests/monitoring/on_bed/test_3_alerts.py::test_no_such_alert", "no `def test_no_such_alert(`"),
    ("Flink hang", "not `binary::module::function`"),
])
def test_a_wrong_name_is_caught(test_id, problem):
    """The check fails on names that look right: a test's nickname, a module it is not in."""
    found = problem_of(test_id)
    assert found and problem in found, found


def test_real_names_resolve_through_path_attributes_and_nested_modules():
    for test_id in ("foundation::query_options::bad_threshold_overrides_fail_their_query_alone",
                    "pipeline_real::consumer_status::a_slowed_job_makes_its_group_warn_and_recovers_to_ok",
                    "flink_faults::a_hanging_flink_times_out_with_the_configured_timeout"):
        assert problem_of(test_id) is None, problem_of(test_id)
