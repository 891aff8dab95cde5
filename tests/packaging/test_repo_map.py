"""The repo map tells the truth, and no source file outgrows one reading.

Two checks of the repository itself (no build, no bed):

- every path and Rust module that ARCHITECTURE.md names in backticks exists;
- no source file is over CODE_LIMIT lines of code.

Both read the files git tracks (`git ls-files`), so what is checked is what is committed or
staged, not stray files in the working tree.
"""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "ARCHITECTURE.md"

CODE_LIMIT = 400
SOURCE_SUFFIXES = (".rs", ".ts", ".tsx", ".py")
# Tracked files that a tool writes and nobody edits by hand (none today; a generated file
# goes here by its repo path, with the tool that writes it in a comment).
GENERATED = set()

# File endings that make a backticked token a path even without a '/'.
PATH_SUFFIXES = (
    ".rs", ".ts", ".tsx", ".mjs", ".js", ".py", ".yml", ".yaml", ".json", ".md", ".sql",
    ".sh", ".toml", ".java", ".xml", ".html", ".css",
)
# What may stand in a path token; anything else (spaces, '|', '(', '=') makes it prose or a
# command line, not a path.
PATH_CHARS = re.compile(r"^[A-Za-z0-9_.\-/<>*]+$")
# A Rust path in lower case: `kafka::admin`, `pipeline_model::consumer_status`. Paths with a
# capitalised segment (`ParsedQuery::parse`, `Health::Ok`) name types and their items, not
# modules, and are not checked.
RUST_PATH = re.compile(r"^[a-z_][a-z0-9_]*(::[a-z_][a-z0-9_]*)+$")
# Crate names (and their source roots) that may start a Rust path.
CRATES = {
    "pipeline_model": "model/src",
    "pipeline_backend": "backend/src",
    "pipeline_panel": "panel/src",
    "pipeline_tests": "tests/src",
    "xtask": "xtask/src",
}


def git_files():
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    return [f for f in out.split("\0") if f]


def is_ignored(path):
    """True when git ignores `path` (a build output such as dist/ or .cache/)."""
    result = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT, capture_output=True
    )
    return result.returncode == 0


def backticked(text):
    """Every `token` of a Markdown text, fenced code blocks included (their lines are read as
    they are, so a path in a diagram is not checked: only backticked tokens are)."""
    return re.findall(r"`([^`\n]+)`", text)


def is_path_token(token):
    if not PATH_CHARS.match(token) or "::" in token:
        return False
    return "/" in token or token.endswith(PATH_SUFFIXES)


def path_pattern(token):
    """A regex over repo paths: `<name>` and `*` stand for one path component."""
    parts = []
    for piece in re.split(r"(<[^>]*>|\*)", token.rstrip("/")):
        if piece.startswith("<") or piece == "*":
            parts.append(r"[^/]+")
        else:
            parts.append(re.escape(piece))
    return "".join(parts)


def path_exists(token, files, dirs, top_level):
    """The rule for a path token:

    - if its first component is a top-level entry of the repo (`backend/`, `tests/`,
      `ARCHITECTURE.md`, `.ci/`...), it is relative to the repo root and must be a tracked file
      or a directory holding one, unless git ignores it (a build output: `dist/<plugin-id>/`,
      `.cache/bed/`, `tests/output/`);
    - otherwise it is a path given in the context of the sentence (`main.rs`, `plugin/mod.rs`,
      `query/mod.rs`) and must be the tail of some tracked path, on component boundaries;
    - `<name>` and `*` stand for any one path component.
    """
    first = token.split("/", 1)[0]
    pattern = path_pattern(token)
    components = token.rstrip("/").split("/")
    for n in range(1, len(components) + 1):
        prefix = "/".join(components[:n])
        if "<" in prefix or "*" in prefix:
            break
        if is_ignored(prefix):
            return True
    if first in top_level and "<" not in first:
        full = re.compile(pattern + r"$")
    else:
        full = re.compile(r"(^|.*/)" + pattern + r"$")
    return any(full.match(p) for p in files) or any(full.match(d) for d in dirs)


def module_file(src_root, segments, files):
    """The file of module `segments` under `src_root` (a.rs or a/mod.rs), or None."""
    base = "/".join([src_root] + list(segments))
    for candidate in (base + ".rs", base + "/mod.rs", base + "/main.rs"):
        if candidate in files:
            return candidate
    return None


def rust_path_exists(token, files):
    """The rule for a Rust path token (`kafka::admin`, `bed::burrow`, `pipeline_model::health`):

    - a leading crate name (`pipeline_model`, `pipeline_backend`, `pipeline_panel`,
      `pipeline_tests`, `xtask`) picks that crate's `src/`; `crate::` or no crate name means any
      of the crates' `src/`;
    - the segments name module files below it: `a::b` is `src/a/b.rs` or `src/a/b/mod.rs`;
    - the last segment may instead name an item (fn, type, const) of the module the others
      name, when that file has the word.
    """
    segments = token.split("::")
    if segments[0] in CRATES:
        roots = [CRATES[segments[0]]]
        segments = segments[1:]
    else:
        if segments[0] == "crate":
            segments = segments[1:]
        roots = list(CRATES.values())
    for root in roots:
        if module_file(root, segments, files):
            return True
        if len(segments) >= 2:
            parent = module_file(root, segments[:-1], files)
            if parent and re.search(
                r"\b" + re.escape(segments[-1]) + r"\b", (ROOT / parent).read_text()
            ):
                return True
    return False


def test_every_path_and_module_architecture_names_exists():
    files = git_files()
    dirs = {str(Path(f).parent) for f in files}
    dirs |= {str(p) for d in list(dirs) for p in Path(d).parents if str(p) != "."}
    top_level = {f.split("/", 1)[0] for f in files}
    dangling = []
    for token in sorted(set(backticked(ARCHITECTURE.read_text()))):
        if RUST_PATH.match(token):
            if not rust_path_exists(token, set(files)):
                dangling.append(f"`{token}` (Rust module)")
        elif is_path_token(token):
            if not path_exists(token, files, dirs, top_level):
                dangling.append(f"`{token}` (path)")
    assert not dangling, (
        f"ARCHITECTURE.md names {len(dangling)} thing(s) the repo does not have:\n  "
        + "\n  ".join(dangling)
    )


def code_lines(path, text):
    """Lines of code by the project's rule: non-blank lines that are not comments (`//` and
    `/* ... */` in Rust and TypeScript, `#` in Python); in Rust, counted up to the first
    `#[cfg(test)]` line (the unit tests below it are not counted). Docstrings are code."""
    count = 0
    in_block = False
    for line in text.splitlines():
        stripped = line.strip()
        if path.endswith(".rs") and stripped.startswith("#[cfg(test)]"):
            break
        if not stripped:
            continue
        if path.endswith(".py"):
            if not stripped.startswith("#"):
                count += 1
            continue
        if in_block:
            if "*/" in stripped:
                in_block = False
                if stripped.split("*/", 1)[1].strip():
                    count += 1
            continue
        if stripped.startswith("//"):
            continue
        if stripped.startswith("/*"):
            if "*/" not in stripped:
                in_block = True
            elif stripped.split("*/", 1)[1].strip():
                count += 1
            continue
        count += 1
    return count


def source_files():
    return [
        f
        for f in git_files()
        if f.endswith(SOURCE_SUFFIXES)
        and "node_modules/" not in f
        and f not in GENERATED
        and (ROOT / f).is_file()
    ]


def test_no_source_file_is_over_the_code_line_limit():
    over = []
    for f in source_files():
        n = code_lines(f, (ROOT / f).read_text(errors="replace"))
        if n > CODE_LIMIT:
            over.append((n, f))
    over.sort(reverse=True)
    assert not over, (
        f"{len(over)} source file(s) over {CODE_LIMIT} lines of code:\n  "
        + "\n  ".join(f"{f}: {n} (limit {CODE_LIMIT})" for n, f in over)
    )
