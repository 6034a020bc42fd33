"""The validated input tables of a run, and the loader for the embedded England data.

This is the edge of the system: it reads files, validates them and hands the pure core plain
tables. The default establishment is the public baseline (NHS Digital staff in post, built by
``scripts/build_baseline.py``; docs/baseline.md); replacing it with a user's file happens here too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairshare.apportionment import apportion
from fairshare.errors import InputError, Problem
from fairshare.inputs.baseline import basis_date, basis_label
from fairshare.inputs.posts import (
    Field,
    check_trainees_fit,
    parse_area_rows,
    parse_posts,
    read_data_csv,
    read_table,
)
from fairshare.io import display_name, file_digest

BASELINE_FILE = "baseline_posts.csv"
#: The ICB cost factor inside NHS England's core need, fitted by scripts/build_data.py (data
#: README); optional in another geography's data folder (no file: no factor to remove).
COST_FACTOR_FILE = "core_cost_factor.csv"
#: Disease prevalence (QOF registers by ICB: icb_code, condition, register, list_size), built by
#: scripts/build_prevalence.py from NHS Digital's QOF 2019-20 (data README).
PREVALENCE_FILE = "qof_prevalence.csv"
#: Which QOF registers drive which specialty when the prevalence driver is on (a judgement).
PREVALENCE_DRIVERS_FILE = "prevalence_drivers.csv"
#: Consultant FTE per ICB piece x specialty (NHS Digital, 30 Sept 2017), built by
#: scripts/build_baseline.py; ``fairshare scarcity`` reads it (data README).
CONSULTANTS_FILE = "consultants.csv"
#: Share of each ICB's LSOAs that are rural / coastal, built by scripts/build_rural_coastal.py.
RURAL_COASTAL_FILE = "rural_coastal.csv"

DATA_VINTAGES = {
    "population": "ONS mid-2022 population estimates for health geographies (pub. March 2024)",
    "projections": "ONS 2018-based subnational population projections (growth factors on mid-2022)",
    "need": "NHS England ICB allocations 2025/26, GP-practice weighted populations",
    "geography": "ICB April 2023 codes; local-office mapping built by fairshare (see data README)",
    "utilisation": "The Strategy Unit activity rates per head by age and sex (SUS, adults)",
    "prevalence": "NHS Digital Quality and Outcomes Framework 2019-20, disease registers by "
                  "practice, summed to ICB",
    "fill_rates": "Modelled (docs/fill.md): HEE England fill rates 2013 and 2018; NHS England "
                  "local office fill by level 2023-24; UK fill by level 2024",
}

# key -> (file name, name of its schema in fairshare.inputs.schemas)
_FILES = {
    "population": ("population_mid2022.csv", "population"),
    "growth": ("growth_factors.csv", "growth"),
    "growth_variants": ("growth_variants.csv", "growth_variants"),
    "weighted_population": ("weighted_population.csv", "weighted_population"),
    "icbs": ("icbs.csv", "icbs"),
    "local_offices": ("local_offices.csv", "local_offices"),
    "icb_local_office": ("icb_local_office.csv", "icb_local_office"),
    "profiles": ("utilisation_profiles.csv", "profiles"),
    "specialties": ("specialties.csv", "specialties"),
}


#: Text columns of the large tables (millions of rows for a country of thousands of areas)
#: read as categories: 5,000 areas' growth factors fit in about 0.1 GB instead of 1.4 GB.
CATEGORY_COLUMNS = {"growth": ("icb_code", "sex", "age_band")}
#: Tables longer than this are validated by their distinct text values (see ``_validate``).
LARGE_TABLE_ROWS = 50_000


@dataclass(frozen=True)
class Bundle:
    """Everything the core needs, validated. Posts are held by local offices (and ICB pieces)."""

    population: pd.DataFrame
    growth: pd.DataFrame
    growth_variants: pd.DataFrame
    weighted_population: pd.DataFrame
    icbs: pd.DataFrame
    local_offices: pd.DataFrame
    icb_local_office: pd.DataFrame
    profiles: pd.DataFrame
    specialties: pd.DataFrame
    posts: pd.DataFrame
    posts_label: str = ""
    """What the establishment is, in one line (shown on every output)."""
    posts_date: str | None = None
    """The census date of the establishment (ISO), when known: 2017-09-30 for the public
    baseline, or the NHS Digital date in a rebuilt baseline's ``basis``; None otherwise."""
    basis: dict[str, str] = field(default_factory=dict)
    """Specialty -> basis of its current posts (e.g. NHS Digital FTE, or "modelled: ...")."""
    other_funded: pd.DataFrame = field(default_factory=pd.DataFrame)
    digests: dict[str, str] = field(default_factory=dict)
    source: str = "embedded England data"
    piece_posts: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Posts per ICB piece (icb_code, local_office, specialty, posts) when the establishment
    is known per ICB (the public baseline, or a user's per-ICB file); empty otherwise (ICB
    figures are then estimated)."""
    core_cost_factor: pd.DataFrame = field(default_factory=pd.DataFrame)
    """icb_code, cost_factor: the ICB-level (cost) factor in NHS England's core weighted
    population (about 1.06-1.07 on London's ICBs); empty when the data has none."""
    qof_prevalence: pd.DataFrame = field(default_factory=pd.DataFrame)
    """icb_code, condition, register, list_size: QOF disease registers per ICB (empty: none)."""
    prevalence_drivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    """specialty, conditions ("CHD+HF+AF"), basis: the registers that drive a specialty's need
    when the scenario's ``prevalence_driver`` is on."""
    fill_rates: pd.DataFrame = field(default_factory=pd.DataFrame)
    """area, specialty, level, fill_rate, basis: a user's ``--fill-rates`` file (empty: the
    modelled default, ``inputs/fill.py``; docs/fill.md)."""
    consultants: pd.DataFrame = field(default_factory=pd.DataFrame)
    """icb_code, local_office, specialty, fte: consultants in post per ICB piece (empty: none)."""
    rural_coastal: pd.DataFrame = field(default_factory=pd.DataFrame)
    """icb_code, rural_share, coastal_share (and the LSOA counts behind them); empty: none."""
    uncorrected: Bundle | None = field(default=None, repr=False, compare=False)
    """The public baseline as built, when this bundle carries baseline corrections
    (fairshare.inputs.corrections); None otherwise."""
    corrections_key: str = ""
    """Which corrections this bundle carries (the scenario setting that made it); empty: none."""
    corrected_memo: dict[str, Bundle] = field(default_factory=dict, repr=False, compare=False)
    """Corrected versions of this public baseline already computed, by setting (a cache)."""

    @property
    def modelled(self) -> list[str]:
        """Specialties whose current posts are modelled, not counted."""
        return sorted(s for s, b in self.basis.items() if b.startswith("modelled"))

    def with_posts(self, path: str | Path) -> Bundle:
        """The same bundle with the establishment replaced by a user's file (validated)."""
        raw = read_table(path)
        posts, other, level = read_posts(path, self, raw)
        basis = file_basis(raw, display_name(path), self)
        pieces = pd.DataFrame()
        if level in ("icb", "piece"):
            pieces = posts
            posts = (pieces.groupby(["local_office", "specialty"], as_index=False)["posts"]
                     .sum().astype({"posts": "int64"}))
        return replace(
            self,
            posts=posts,
            piece_posts=pieces,
            other_funded=other,
            posts_label=f"{display_name(path)} ({level} level)" + _basis_note(basis),
            basis=basis,
            posts_date=basis_date(set(basis.values())),
            digests={**self.digests, "posts": file_digest(path)},
        )


def data_dir() -> Path:
    """Folder of the embedded England data files."""
    return Path(str(resources.files("fairshare") / "data"))


def _validate(df: pd.DataFrame, schema_name: str, name: str) -> pd.DataFrame:
    """Check a table against its pandera schema (imported here: pandera is slow to import)."""
    import pandera.errors as pae

    from fairshare.inputs import schemas

    schema = getattr(schemas, schema_name)
    if len(df) > LARGE_TABLE_ROWS:
        return _validate_large(df, schema, name)
    df = df.astype({c: object for c in df.columns  # a short table needs no compact codes
                    if isinstance(df[c].dtype, pd.CategoricalDtype)})
    try:
        return schema.validate(df, lazy=True)
    except pae.SchemaErrors as err:
        raise InputError(_schema_problems(err, name)) from err


def _validate_large(df: pd.DataFrame, schema: Any, name: str) -> pd.DataFrame:
    """The schema's checks on a long table, each text column checked once per distinct value.

    pandera checks a text column value by value in Python (tens of seconds for millions of
    rows); a text check (a code, a sex, an age band) depends on the value alone, so checking
    each distinct value once is the same check. Numbers, uniqueness and the column set are
    checked by pandera on the whole table as usual.
    """
    import pandera.errors as pae
    import pandera.pandas as pa

    text = [c for c, col in schema.columns.items() if "str" in str(col.dtype)]
    problems = []
    missing = [c for c in schema.columns if c not in df.columns]
    extra = [c for c in df.columns if c not in schema.columns] if schema.strict else []
    problems += [Problem(name, 1, c, "required column missing") for c in missing]
    problems += [Problem(name, 1, c, "unexpected column") for c in extra]
    if problems:
        raise InputError(problems)
    for col in text:
        values = df[col].astype("category")
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax())
            problems.append(Problem(name, row + 2, col, "empty: expected a value"))
        distinct = pd.DataFrame({col: pd.Series(values.cat.categories, dtype=object)})
        try:
            pa.DataFrameSchema({col: schema.columns[col]}).validate(distinct, lazy=True)
        except pae.SchemaErrors as err:
            for case in err.failure_cases["failure_case"].head(10):
                row = int((values == case).to_numpy().argmax())
                problems.append(Problem(name, row + 2, col, f"{case!r}: not a valid value"))
    rest = schema.remove_columns(text)
    rest.strict, keys, rest.unique = False, rest.unique, None
    numbers = [c for c in rest.columns if c in df.columns]
    for start in range(0, len(df), LARGE_TABLE_ROWS * 10):  # in slices: bounded memory
        try:
            rest.validate(df.iloc[start:start + LARGE_TABLE_ROWS * 10][numbers], lazy=True)
        except pae.SchemaErrors as err:
            problems += _schema_problems(err, name)
            break
    repeated = _repeated(df, list(keys or []))
    if repeated is not None:
        problems.append(Problem(name, repeated + 2, None, f"{', '.join(keys or [])} given "
                                "more than once (each combination once)"))
    if problems:
        raise InputError(problems)
    return df


def _repeated(df: pd.DataFrame, keys: list[str]) -> int | None:
    """The first row repeating an earlier row's ``keys``, found on one integer per row (the
    columns' codes combined) rather than on a frame of text, so millions of rows take little
    memory; None when every combination is given once."""
    if not keys:
        return None
    key = np.zeros(len(df), dtype=np.int64)
    span = 1
    for col in keys:
        values = df[col]
        codes = (values.cat.codes.to_numpy(dtype=np.int64) if isinstance(
            values.dtype, pd.CategoricalDtype) else pd.factorize(values)[0].astype(np.int64))
        size = int(codes.max(initial=0)) + 2
        if span * size >= 2**62:  # too many combinations for one integer: the general way
            dup = df.duplicated(keys).to_numpy()
            return int(dup.argmax()) if dup.any() else None
        key = key * size + codes + 1
        span *= size
    if span <= 4 * len(df) + 1024:  # combinations few enough to count directly
        counts = np.bincount(key, minlength=span)
        if not (counts > 1).any():
            return None
        del counts
    dup = pd.Series(key).duplicated().to_numpy()
    return int(dup.argmax()) if dup.any() else None


def _schema_problems(err: Any, name: str) -> list[Problem]:
    """pandera's failure cases as problems naming the file, row and column."""
    return [Problem(name, None if pd.isna(r.index) else int(r.index) + 2,
                    None if pd.isna(r.column) else str(r.column),
                    f"{r.failure_case!r}: {_check_words(str(r.check))}")
            for r in err.failure_cases.head(10).itertuples()]


@cache
def _read_table(folder: str, key: str) -> pd.DataFrame:
    """One input table; a user's file is validated, the embedded one is not (it is built and
    checked by scripts/build_data.py and tests/test_baseline.py, and its digest is recorded)."""
    fname, schema = _FILES[key]
    path = Path(folder) / fname
    if Path(folder).resolve() == data_dir().resolve():
        return _as_plain(pd.read_csv(path))
    # a user's own file: read with guards (size, pipes, encoding, ragged rows, absurd numbers)
    df = _as_plain(read_data_csv(path, CATEGORY_COLUMNS.get(key, ())))
    return _validate(_whole_numbers_as_float(df, schema), schema, str(Path(folder) / fname))


def _whole_numbers_as_float(df: pd.DataFrame, schema_name: str) -> pd.DataFrame:
    """A column of decimals written as whole numbers (``0``, ``3146606``) is read as integers;
    where the schema wants decimals they are the same numbers, not an error."""
    from fairshare.inputs import schemas

    columns = getattr(getattr(schemas, schema_name), "columns", {})
    out = df
    for col, spec in columns.items():
        if col in df.columns and str(spec.dtype) == "float64" \
                and pd.api.types.is_integer_dtype(df[col]):
            out = out.copy() if out is df else out
            out[col] = df[col].astype("float64")
    return out


#: pandera's check names in a planner's words.
_CHECK_WORDS = ((r"greater_than\((.*)\)", r"expected a value above \1"),
                (r"greater_than_or_equal_to\((.*)\)", r"expected \1 or more"),
                (r"less_than_or_equal_to\((.*)\)", r"expected \1 or less"),
                (r"less_than\((.*)\)", r"expected a value below \1"),
                (r"in_range\((.*), (.*)\)", r"expected a value from \1 to \2"),
                (r"dtype\('(int64|float64)'\)", "expected a number"),
                (r"not_nullable", "empty: expected a value"),
                (r"field_uniqueness|unique", "given more than once"))


def _check_words(check: str) -> str:
    for pattern, words in _CHECK_WORDS:
        if re.fullmatch(pattern, check):
            return re.sub(pattern, words, check)
    return f"failed check {check}"


def _folder_for(folder: Path, fname: str) -> Path:
    """A user data folder's own copy of a file, else the embedded England one."""
    own = folder / fname
    return own if own.exists() else data_dir() / fname


def _as_plain(df: pd.DataFrame) -> pd.DataFrame:
    """Plain numpy dtypes (object strings, int64, float64) so schemas and maths agree."""
    out = {}
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):  # codes of a large table: kept compact
            out[col] = s
        elif pd.api.types.is_integer_dtype(s) and not s.isna().any():
            out[col] = s.astype("int64")
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype("float64")
        else:
            out[col] = s.astype(object).where(s.notna(), None)
    return pd.DataFrame(out)


@cache
def _public_baseline(path: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The embedded public baseline: (posts by local office, by ICB piece, basis by specialty).

    Read without element-wise validation: the file is built and checked by
    scripts/build_baseline.py and tests/test_baseline.py, and its digest is recorded.
    """
    df = pd.read_csv(path, usecols=["icb_code", "local_office", "specialty", "posts", "basis"],
                     dtype={"icb_code": object, "local_office": object, "specialty": object,
                            "basis": object, "posts": "int64"})
    pieces = df[["icb_code", "local_office", "specialty", "posts"]]
    lo = (pieces.groupby(["local_office", "specialty"], as_index=False, sort=True)["posts"]
          .sum())
    basis = dict(df.drop_duplicates("specialty")[["specialty", "basis"]].itertuples(index=False))
    return _as_plain(lo), _as_plain(pieces), basis


def file_basis(raw: pd.DataFrame, name: str, bundle: Bundle) -> dict[str, str]:
    """Specialty -> basis of a user's posts table: its ``basis`` column, else the file's name."""
    names = {s.lower(): s for s in bundle.specialties["specialty"]}
    spec = raw["specialty"].fillna("").astype(str).str.strip().str.lower().map(names)
    given = (raw["basis"].fillna("").astype(str).str.strip() if "basis" in raw.columns
             else pd.Series("", index=raw.index))
    table = pd.DataFrame({"specialty": spec, "basis": given}).dropna(subset=["specialty"])
    table = table.drop_duplicates("specialty")
    default = f"user file {name}"
    return {str(s): (str(b) or default) for s, b in table.itertuples(index=False)}


def _basis_note(basis: dict[str, str]) -> str:
    """The label of a posts file that carries a ``basis`` column (e.g. a rebuilt baseline)."""
    bases = set(basis.values())
    if not any(b.startswith(("NHS Digital", "modelled")) for b in bases):
        return ""
    return ": " + basis_label(bases)


def data_folder() -> Path:
    """The data folder in use: ``$FAIRSHARE_DATA`` (another country's files) or the embedded one."""
    env = os.environ.get("FAIRSHARE_DATA")
    return Path(env).expanduser() if env else data_dir()


def data_file(name: str) -> Path:
    """One data file (e.g. a boundary file) from the folder in use, else the embedded copy."""
    return _folder_for(data_folder(), name)


def load_england(posts: str | Path | None = None) -> Bundle:
    """The embedded England data, with the public baseline unless ``posts`` is given."""
    return load_bundle(data_dir(), posts)


def load_data(posts: str | Path | None = None) -> Bundle:
    """The data in use: ``$FAIRSHARE_DATA`` if set (see docs/own_data.md), else England."""
    return load_bundle(data_folder(), posts)


def load_bundle(folder: str | Path, posts: str | Path | None = None) -> Bundle:
    """Every input table from ``folder``, validated; files it lacks come from the England data.

    This is how the method is applied to another country or another geography: give files with
    the same names and columns (docs/own_data.md). The tables are checked against each other
    (every area in the population is in the mapping, and so on) so a mixed-up folder fails with
    a message, not a wrong answer.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "data folder not found")])
    known = {p.name for p in data_dir().iterdir() if p.suffix in (".csv", ".geojson")}
    if folder.resolve() != data_dir().resolve() and not any(
            p.name in known for p in folder.iterdir()):
        names = ", ".join(n for n, _ in list(_FILES.values())[:4])
        raise InputError([Problem(str(folder), None, None, "holds none of the data files "
                                  f"(e.g. {names}; docs/own_data.md): an empty or wrong folder "
                                  "would silently give England's results")])
    paths = {key: _folder_for(folder, fname) for key, (fname, _) in _FILES.items()}
    # shallow copies: pandas copies on write, so the cached tables stay as read, and a large
    # country's tables are not held twice
    tables = {key: _read_table(str(p.parent), key).copy(deep=False) for key, p in paths.items()}
    digests = {key: _digest(str(p)) for key, p in paths.items()}
    _check_consistency(tables, folder)
    factor, factor_path = _core_cost_factor(folder, set(tables["icbs"]["icb_code"]))
    tables["core_cost_factor"] = factor
    if factor_path is not None:
        digests["core_cost_factor"] = _digest(str(factor_path))
    tables |= _prevalence_tables(folder, set(tables["icbs"]["icb_code"]), digests)
    for key, fname, numbers in (("consultants", CONSULTANTS_FILE, ("fte",)),
                                ("rural_coastal", RURAL_COASTAL_FILE,
                                 ("rural_share", "coastal_share"))):
        tables[key] = _optional_area_table(folder, fname, numbers,
                                           set(tables["icbs"]["icb_code"]), digests, key)
    own = sorted(f for f, _ in _FILES.values() if (folder / f).exists())
    source = ("embedded England data" if folder.resolve() == data_dir().resolve() else
              f"data folder {folder} ({', '.join(own) or 'no files'}; the rest embedded)")
    if posts is not None:
        empty = pd.DataFrame(columns=["local_office", "specialty", "posts"])
        return Bundle(**tables, posts=empty, digests=digests, source=source).with_posts(posts)
    own_posts = folder / BASELINE_FILE
    if own_posts.exists() and folder.resolve() != data_dir().resolve():
        empty = pd.DataFrame(columns=["local_office", "specialty", "posts"])
        return Bundle(**tables, posts=empty, digests=digests, source=source).with_posts(own_posts)
    if folder.resolve() == data_dir().resolve() or not (folder / "icbs.csv").exists():
        path = data_dir() / BASELINE_FILE
        lo, pieces, basis = _public_baseline(str(path))
        return Bundle(**tables, posts=lo.copy(), piece_posts=pieces.copy(), basis=dict(basis),
                      posts_label=basis_label(set(basis.values())), source=source,
                      posts_date=basis_date(set(basis.values())),
                      digests=digests | {"posts": _digest(str(path))})
    raise InputError([Problem(str(folder), None, None, "this data folder has its own areas but "
                              f"no establishment ({BASELINE_FILE}): give your posts file with "
                              "--posts")])


def _core_cost_factor(folder: Path, icbs: set[str]) -> tuple[pd.DataFrame, Path | None]:
    """The core need's ICB cost factor: the folder's own file, else England's when the areas are
    England's; another geography without the file has no factor to remove (empty table)."""
    own = folder / COST_FACTOR_FILE
    path = own if own.exists() else data_dir() / COST_FACTOR_FILE
    empty = pd.DataFrame({"icb_code": pd.Series(dtype=str), "cost_factor": pd.Series(dtype=float)})
    if not path.exists():
        return empty, None
    table = _read_cost_factor(str(path))
    if set(table["icb_code"]) != icbs:
        if not own.exists():
            return empty, None
        raise InputError([Problem(str(own), None, "icb_code",
                                  "areas differ from icbs.csv: give a cost_factor for each area")])
    return table.copy(), path


def _prevalence_tables(folder: Path, icbs: set[str],
                       digests: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The QOF prevalence table (the folder's own, else England's when the areas are England's)
    and the specialty declarations."""
    out = {}
    own = folder / PREVALENCE_FILE
    path = own if own.exists() else data_dir() / PREVALENCE_FILE
    if path.exists():
        table = _read_prevalence(str(path))
        unknown = sorted(set(table["icb_code"]) - icbs)[:5]
        if unknown and own.exists():
            raise InputError([Problem(str(own), None, "icb_code", f"not in icbs.csv: {unknown}")])
        if not unknown:
            out["qof_prevalence"] = table.copy()
            digests["qof_prevalence"] = _digest(str(path))
    declared = folder / PREVALENCE_DRIVERS_FILE
    path = declared if declared.exists() else data_dir() / PREVALENCE_DRIVERS_FILE
    out["prevalence_drivers"] = pd.read_csv(path, dtype=str)
    return out


def _optional_area_table(folder: Path, fname: str, numbers: tuple[str, ...], icbs: set[str],
                         digests: dict[str, str], key: str) -> pd.DataFrame:
    """An optional per-ICB table: the folder's own file, else England's when the areas are
    England's; another geography without the file has none (empty table)."""
    own = folder / fname
    path = own if own.exists() else data_dir() / fname
    if not path.exists():
        return pd.DataFrame()
    table = _read_numbers(str(path), numbers)
    unknown = sorted(set(table["icb_code"]) - icbs)[:5]
    if unknown:
        if not own.exists():
            return pd.DataFrame()
        raise InputError([Problem(str(own), None, "icb_code", f"not in icbs.csv: {unknown}")])
    digests[key] = _digest(str(path))
    return table.copy()


@cache
def _read_numbers(path: str, numbers: tuple[str, ...]) -> pd.DataFrame:
    """A small CSV whose ``numbers`` columns must be finite and at least 0."""
    table = pd.read_csv(path, dtype={"icb_code": str, "local_office": str, "specialty": str})
    problems = [Problem(path, None, c, "column missing") for c in ("icb_code", *numbers)
                if c not in table.columns]
    if problems:
        raise InputError(problems)
    for col in numbers:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = [i for i, v in enumerate(values) if not (np.isfinite(v) and v >= 0)]
        problems += [Problem(path, i + 2, col, "expected a number, at least 0") for i in bad[:10]]
        table[col] = values.astype(float)
    if problems:
        raise InputError(problems)
    return table


@cache
def _read_prevalence(path: str) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"icb_code": str, "condition": str})
    wanted = ("icb_code", "condition", "register", "list_size")
    problems = [Problem(path, None, c, "column missing") for c in wanted if c not in table.columns]
    if problems:
        raise InputError(problems)
    for col, least in (("register", 0.0), ("list_size", None)):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = [i for i, v in enumerate(values) if not np.isfinite(v)
               or (v < least if least is not None else v <= 0)]
        what = "a number, at least 0" if least is not None else "a number above 0"
        problems += [Problem(path, i + 2, col, f"expected {what}") for i in bad[:10]]
        table[col] = values
    if problems:
        raise InputError(problems)
    return table[list(wanted)]


@cache
def _read_cost_factor(path: str) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"icb_code": str})
    problems = [Problem(path, None, c, "column missing") for c in ("icb_code", "cost_factor")
                if c not in table.columns]
    if problems:
        raise InputError(problems)
    factor = pd.to_numeric(table["cost_factor"], errors="coerce")
    bad = [i for i, v in enumerate(factor) if not (v > 0 and np.isfinite(v))]
    if bad:
        raise InputError([Problem(path, i + 2, "cost_factor", "expected a positive number")
                          for i in bad[:10]])
    return table.assign(cost_factor=factor.astype(float))[["icb_code", "cost_factor"]]


def _check_consistency(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    """The tables must describe one geography; say which file disagrees with which."""
    icbs = set(tables["icbs"]["icb_code"])
    problems = []
    for key in ("population", "weighted_population", "icb_local_office"):
        codes = set(tables[key]["icb_code"])
        if codes != icbs:
            fname = _FILES[key][0]
            extra, missing = sorted(codes - icbs)[:5], sorted(icbs - codes)[:5]
            problems.append(Problem(str(folder / fname), None, "icb_code",
                                    f"areas differ from icbs.csv (not in icbs.csv: {extra}; "
                                    f"missing: {missing})"))
    offices = set(tables["local_offices"]["local_office"])
    unknown = sorted(set(tables["icb_local_office"]["local_office"]) - offices)
    if unknown:
        problems.append(Problem(str(folder / "icb_local_office.csv"), None, "local_office",
                                f"not in local_offices.csv: {unknown}"))
    shares = tables["icb_local_office"].groupby("icb_code")["share"].sum()
    off = shares[(shares - 1).abs() > 1e-6]
    if len(off):
        problems.append(Problem(str(folder / "icb_local_office.csv"), None, "share",
                                f"shares must sum to 1 per area; they do not for "
                                f"{list(off.index[:5])}"))
    if problems:
        raise InputError(problems)


@cache
def _digest(path: str) -> str:
    return file_digest(path)


def read_posts(path: str | Path, bundle: Bundle,
               raw: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """A user's posts file -> (tariff posts, other-funded posts, level read).

    Tariff posts are by local office, or by ICB piece (with an ``icb_code`` column) when the
    file was given per ICB.
    """
    raw = read_table(path) if raw is None else raw
    pieces = set(zip(bundle.icb_local_office["icb_code"], bundle.icb_local_office["local_office"],
                     strict=True))
    clean, level = parse_posts(
        raw, str(path), list(bundle.specialties["specialty"]), bundle.local_offices, bundle.icbs,
        pieces,
    )
    if level == "piece":
        clean = clean.rename(columns={"area": "icb_code"})
    elif level == "icb":
        clean = _icb_posts_to_local_offices(clean, bundle.icb_local_office)
    else:
        clean = clean.rename(columns={"area": "local_office"})
    tariff = clean[clean["funding"] == "tariff"]
    other = clean[clean["funding"] != "tariff"]
    keys = ["icb_code", "local_office", "specialty"] if level in ("icb", "piece") else [
        "local_office", "specialty"]
    grouped = tariff.groupby(keys, as_index=False)["posts"].sum().astype({"posts": "int64"})
    return grouped, other.reset_index(drop=True), level


def _icb_posts_to_local_offices(clean: pd.DataFrame, mapping: pd.DataFrame,
                                values: tuple[str, ...] = ("posts",)) -> pd.DataFrame:
    """Split each ICB's counts over the local offices it straddles, in whole units by share."""
    rows = []
    for rec in clean.to_dict("records"):
        parts = mapping[mapping["icb_code"] == rec["area"]]
        split = {v: apportion(list(parts["share"]), int(rec[v]), method="hamilton")
                 for v in values}
        for k, lo in enumerate(parts["local_office"]):
            row = {c: rec[c] for c in clean.columns if c != "area"}
            row.update({v: split[v][k] for v in values})
            rows.append({"icb_code": rec["area"], "local_office": lo, **row})
    columns = ["icb_code", "local_office", *[c for c in clean.columns if c != "area"]]
    return pd.DataFrame(rows, columns=columns).astype({v: "int64" for v in values})


def read_area_file(path: str | Path, bundle: Bundle, fields: list[Field]) -> pd.DataFrame:
    """A user's area x specialty file (capacity, cohorts...) validated, by local office."""
    clean, level = parse_area_rows(read_table(path), str(path),
                                   list(bundle.specialties["specialty"]), bundle.local_offices,
                                   bundle.icbs, fields)
    counts = tuple(f.name for f in fields if f.kind == "count" and f.name in clean.columns)
    if level == "icb":
        clean = _icb_posts_to_local_offices(clean, bundle.icb_local_office, counts)
        clean = clean.drop(columns="icb_code")
        keys = [c for c in clean.columns if c not in counts]
        return clean.groupby(keys, as_index=False)[list(counts)].sum()
    return clean.rename(columns={"area": "local_office"})


def read_capacity(path: str | Path, bundle: Bundle, level: str = "local_office") -> pd.DataFrame:
    """Supervision capacity: local_office, specialty, [year], capacity (posts received a year).

    For a plan by ICB (``level='icb'``) the file gives capacity per ICB (an ``icb`` column:
    code, ODS code or name); the ``local_office`` column then holds the ICB's name, which is
    how a plan by ICB names its areas."""
    fields = [Field("capacity"), Field("year", "year", False)]
    if level != "icb":
        return read_area_file(path, bundle, fields)
    clean, read_level = parse_area_rows(read_table(path), str(path),
                                        list(bundle.specialties["specialty"]),
                                        bundle.local_offices, bundle.icbs, fields)
    if read_level != "icb":
        raise InputError([Problem(str(path), 1, "icb", "a plan by ICB needs capacity per ICB "
                                  "(an 'icb' column: ICB code, ODS code or name), not per "
                                  "local office")])
    names = bundle.icbs.set_index("icb_code")["icb_name"]
    return clean.assign(area=clean["area"].map(names)).rename(columns={"area": "local_office"})


def read_cohorts(path: str | Path, bundle: Bundle) -> pd.DataFrame:
    """Trainee cohorts: local_office, specialty, completion_year, trainees."""
    cohorts = read_area_file(path, bundle, [Field("completion_year", "year"), Field("trainees")])
    held = [t[["local_office", "specialty", "posts"]] for t in (bundle.posts, bundle.other_funded)
            if not t.empty]
    check_trainees_fit(cohorts, pd.concat(held), str(path))
    return cohorts


#: The kinds of input file, each recognised by the columns only it has (checked in order).
KIND_COLUMNS = {
    "cohorts": ("completion_year", "trainees"),
    "capacity": ("capacity",),
    "min_posts": ("min_posts",),
    "fill_rates": ("fill_rate",),
    "posts": ("posts",),
}
KIND_WORDS = {"posts": "establishment (posts)", "capacity": "supervision capacity",
              "cohorts": "trainee cohorts", "min_posts": "minimum programme sizes",
              "fill_rates": "fill rates"}


def file_kind(columns: list[str]) -> str | None:
    """Which kind of input file these (normalised) columns make: the first kind whose own
    columns are there (a cohorts file has no ``posts``, an establishment no ``trainees``)."""
    for kind, own in KIND_COLUMNS.items():
        if any(c in columns for c in own):
            return kind
    return None


def missing_areas(bundle: Bundle) -> list[str]:
    """Local offices (or, for a file per ICB, ICBs) an establishment file has no row for:
    they enter the plan with 0 posts of every specialty, which a partial file rarely means."""
    if not bundle.piece_posts.empty:
        have = set(bundle.piece_posts["icb_code"])
        names = bundle.icbs.set_index("icb_code")["icb_name"]
        return [f"{names[c]} ({c})" for c in sorted(set(bundle.icbs["icb_code"]) - have)]
    have = set(bundle.posts["local_office"]) | (
        set(bundle.other_funded["local_office"]) if "local_office" in bundle.other_funded
        else set())
    return sorted(set(bundle.local_offices["local_office"]) - have)


def cohort_coverage(cohorts: pd.DataFrame, bundle: Bundle, start: int) -> pd.DataFrame:
    """Per local office × specialty a cohort file lists: its posts, the trainees the file
    lists completing from ``start`` on, and the posts it does not account for (these fall
    vacant on the default rule, posts ÷ programme length a year)."""
    keys = ["local_office", "specialty"]
    listed = (cohorts[cohorts["completion_year"] >= start].groupby(keys)["trainees"].sum()
              .reindex(pd.MultiIndex.from_frame(cohorts[keys].drop_duplicates()), fill_value=0))
    posts = bundle.posts.groupby(keys)["posts"].sum()
    out = listed.to_frame("trainees_listed").join(posts, how="left").fillna({"posts": 0})
    out["posts"] = out["posts"].astype("int64")
    out["not_covered"] = (out["posts"] - out["trainees_listed"]).clip(lower=0)
    return out.reset_index()[[*keys, "posts", "trainees_listed", "not_covered"]]


def load_priorities() -> pd.DataFrame:
    """National expansion priorities and their specialties (data/priorities.csv)."""
    return _as_plain(pd.read_csv(data_dir() / "priorities.csv"))
