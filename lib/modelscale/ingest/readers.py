"""Read a batch of landing files with the declared schema and mark every malformed record.

The result has the source's columns typed as declared (plus new columns as strings when the
source allows schema evolution), ``_source_file``, ``_batch_date`` and, for a malformed record only,
``_raw_record`` (the line as it arrived) and ``_checks`` (what `reason` needs to say why).

CSV and JSON files are read as text lines, so the raw line is at hand for every record. CSV lines are
parsed straight to the declared types (Spark's CSV reader semantics); JSON values are parsed as texts,
then cast. Either way a wrong type names its column and quotes its text. Parquet files carry their
own types: a type that differs from the declared one fails the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import reduce
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_type

from modelscale.config.models import SourceConfig
from modelscale.errors import InputDataError
from modelscale.ingest.landing import LandingFile, has_header

RAW = "_raw_record"
REASON = "_reason"  # on quarantined records, see `reason`
SOURCE_FILE = "_source_file"
CHECKS = "_checks"  # a bad record's corrupt-line marker and texts of its typed columns; null when good
BATCH_DATE = "_batch_date"
_CORRUPT = "_corrupt_record"
_NAME = "_file_name"
_BAD = "_bad"
_UNPARSABLE = "unparsable"  # the message for a line that did not parse
# Options that steer the file reader rather than the per-line parser.
_ALIASES = {"integer": "int", "long": "bigint", "short": "smallint", "byte": "tinyint"}
_FILE_OPTIONS = {"header", "encoding", "charset", "inferSchema", "enforceSchema", "multiLine", "lineSep"}


def read_batch(spark: SparkSession, name: str, source: SourceConfig, files: list[LandingFile]) -> DataFrame:
    """One DataFrame of every record in ``files``, typed, with its quarantine reason."""
    groups: dict[tuple[str, ...], list[LandingFile]] = defaultdict(list)
    for f in files:
        groups[file_columns(name, source, f)].append(f)
    frames = [_read_group(spark, source, columns, group) for columns, group in groups.items()]
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame, allowMissingColumns=True)
    extra = [c for c in out.columns if c not in source.columns and not c.startswith("_")]
    return out.select(*source.columns, *extra, RAW, CHECKS, SOURCE_FILE, BATCH_DATE)


def records_by_file(name: str, source: SourceConfig, files: list[LandingFile]) -> dict[str, int]:
    """The records in each of ``files`` (by landing-relative path), counted apart from the parse: the
    record lines counted when the file was fingerprinted (CSV, JSON lines), the rows in its footer (parquet)."""
    return {f.rel_path: _parquet_rows(name, f) if f.records is None else f.records for f in files}


def file_columns(name: str, source: SourceConfig, f: LandingFile) -> tuple[str, ...]:
    """The file's columns in file order, checked against the declared ones (schema drift)."""
    if source.format == "csv":
        columns = f.header(source) if has_header(source) else tuple(source.columns)
    elif source.format == "json":
        columns = tuple(source.columns)
    else:
        columns = _parquet_columns(name, source, f)
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in source.columns if c not in columns]
    new = [c for c in columns if c not in source.columns]
    if dupes:
        raise InputDataError(f"source {name!r}: file {f.path} repeats column(s) {', '.join(dupes)}")
    if missing:
        raise InputDataError(
            f"source {name!r}: file {f.path} lacks column(s) {', '.join(missing)} declared in sources.{name}.columns"
        )
    if new and not source.allow_schema_evolution:
        raise InputDataError(
            f"source {name!r}: file {f.path} has new column(s) {', '.join(new)} not declared in "
            f"sources.{name}.columns (declare them, or set allow_schema_evolution: true to add them)"
        )
    bad = [c for c in new if c.startswith("_") or not c]
    if bad:
        raise InputDataError(f"source {name!r}: file {f.path} has column name(s) {bad} (empty or reserved '_' prefix)")
    return columns


def _parquet_columns(name: str, source: SourceConfig, f: LandingFile) -> tuple[str, ...]:
    """Parquet column names, failing on a type that differs from the declared one."""
    schema = _parquet_footer(name, f).schema.to_arrow_schema()
    for field in schema:
        declared = source.columns.get(field.name)
        actual = from_arrow_type(field.type).simpleString()
        if declared and _spark_type(declared) != actual:
            raise InputDataError(
                f"source {name!r}: column {field.name!r} in file {f.path} is {actual}, expected {declared} "
                f"(a type change is never applied automatically)"
            )
    return tuple(schema.names)


def _parquet_rows(name: str, f: LandingFile) -> int:
    return int(_parquet_footer(name, f).num_rows)


def _parquet_footer(name: str, f: LandingFile) -> Any:
    """The file's parquet footer (``pyarrow.parquet.FileMetaData``); a damaged one is an InputDataError."""
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(f.path)
    except Exception as exc:  # pyarrow raises several types for a damaged footer
        raise InputDataError(f"source {name!r}: file {f.path} is not a readable parquet file: {exc}") from None


def _spark_type(type_name: str) -> str:
    """A declared type name as Spark spells it (``long`` is ``bigint``)."""
    return _ALIASES.get(type_name, type_name)


def _read_group(
    spark: SparkSession, source: SourceConfig, columns: tuple[str, ...], files: list[LandingFile]
) -> DataFrame:
    """Files sharing one column layout: parse, type and attach the reason and lineage columns.

    A record is bad when its line did not parse, a value did not take its declared type or a required
    value is missing. Only for a bad record are its raw line and the texts its reason quotes kept (in
    CHECKS); the reason itself is built later, for quarantined records only: a projection that large
    would slow down the parse of every good record.
    """
    paths = [str(f.path) for f in files]
    if source.format == "parquet":
        parsed = spark.read.parquet(*paths).select(
            *[F.col(c).cast("string").alias(c) for c in columns],
            F.to_json(F.struct(*columns)).alias(RAW),
            F.lit(None).cast("string").alias(_CORRUPT),
            _file_name().alias(_NAME),
        )
        typed, checks, bad = _typed_from_texts(source, columns, parsed)
    else:
        lines = spark.read.text(paths).select(F.col("value").alias(RAW), _file_name().alias(_NAME))
        lines = lines.where(F.trim(RAW) != "")  # the lines `landing.RecordLines` counts
        headers = {f.header_line for f in files if f.header_line is not None}
        if headers:
            lines = lines.where(~F.col(RAW).isin(*headers))
        options = {k: str(v).lower() if isinstance(v, bool) else str(v)
                   for k, v in source.options.items() if k not in _FILE_OPTIONS}
        options |= {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}
        # Each parse is a generator (one struct per line): a filter on the fields, such as `accepted`, stays
        # above it. In a projection, Spark would push that filter below and parse the line again for every
        # field it reads (a year of flights, uncached: 16 s instead of 1.5).
        if source.format == "csv":
            typed, checks, bad = _typed_csv(source, columns, lines, options)
        else:
            parsed = lines.select(RAW, _NAME, F.inline(F.array(F.from_json(F.col(RAW), _ddl(columns), options))))
            typed, checks, bad = _typed_from_texts(source, columns, parsed)
    return typed.withColumn(_BAD, bad).select(
        *columns,
        F.when(F.col(_BAD), F.col(RAW)).alias(RAW),
        F.when(F.col(_BAD), checks).alias(CHECKS),
        _source_file(files).alias(SOURCE_FILE),
        F.to_date(F.regexp_extract(F.col(_NAME), r"(\d{4}-\d{2}-\d{2})", 1)).alias(BATCH_DATE),
    )


def _ddl(columns: tuple[str, ...], types: dict[str, str] | None = None) -> str:
    """``from_csv``/``from_json`` schema: each column as typed in ``types`` (else STRING), then the corrupt record."""
    return ", ".join(f"`{c}` {(types or {}).get(c, 'STRING')}" for c in (*columns, _CORRUPT))


def _typed_csv(source: SourceConfig, columns: tuple[str, ...], lines: DataFrame,
               options: dict[str, str]) -> tuple[DataFrame, Column, Column]:
    """CSV lines parsed straight to the declared types, as Spark's CSV reader does (about a third faster
    than texts then casts). A value that does not take its type marks the record corrupt; the texts the
    reason quotes come from a second, all-string parse that runs for bad records only."""
    typed = lines.select(RAW, _NAME, F.inline(F.array(F.from_csv(F.col(RAW), _ddl(columns, source.columns),
                                                                     options))))
    texts = F.from_csv(F.col(RAW), _ddl(columns), options)
    bad = reduce(Column.__or__, [F.col(_CORRUPT).isNotNull(), *(F.col(c).isNull() for c in source.required)])
    return typed, _checks(source, columns, texts.getField), bad


def _typed_from_texts(source: SourceConfig, columns: tuple[str, ...],
                      parsed: DataFrame) -> tuple[DataFrame, Column, Column]:
    """Texts (a JSON object's values, parquet values as strings) cast to the declared types, each column once;
    a value that does not cast, like a missing required one, makes the record bad."""
    typed_columns = _typed_columns(source)
    typed = parsed.select(
        *[F.col(c).try_cast(source.columns[c]).alias(c) if c in typed_columns else F.col(c) for c in columns],
        _checks(source, columns, F.col).alias(CHECKS),
        RAW, _NAME,
    )
    bad = reduce(Column.__or__, [F.col(f"{CHECKS}.{_CORRUPT}").isNotNull(), *(c for c, _ in _problems(source))])
    return typed, F.col(CHECKS), bad


def _typed_columns(source: SourceConfig) -> list[str]:
    """The declared columns of a type other than string: those a text can fail to take."""
    return [c for c, t in source.columns.items() if t != "string"]


def _checks(source: SourceConfig, columns: tuple[str, ...], text: Callable[[str], Column]) -> Column:
    """What `reason` reads (the CHECKS struct): the all-string parse's corrupt record, the unparsable-line
    message and the text of each typed column; ``text`` gives a field of that parse by name."""
    return F.struct(
        text(_CORRUPT).alias(_CORRUPT),
        F.lit(_unparsable(source, columns)).alias(_UNPARSABLE),
        *[text(c).alias(c) for c in _typed_columns(source)],
    )


def is_bad() -> Column:
    """True for a record to quarantine (on `read_batch`'s result)."""
    return F.col(CHECKS).isNotNull()


def reason(source: SourceConfig) -> Column:
    """Why a bad record (on `read_batch`'s result) is quarantined: an unparsable line, else each
    wrong type and missing value, in the declared column order."""
    unparsable = F.when(F.col(f"{CHECKS}.{_CORRUPT}").isNotNull(), F.col(f"{CHECKS}.{_UNPARSABLE}"))
    problems = [F.when(check, message) for check, message in _problems(source)]
    return F.coalesce(unparsable, F.nullif(F.concat_ws("; ", *problems), F.lit("")))


def _problems(source: SourceConfig) -> list[tuple[Column, Column]]:
    """(check, message) for each way a parsed record can be bad: a text that does not cast to its
    declared type, a required value that is missing."""
    def text(c: str) -> Column:
        return F.col(f"{CHECKS}.{c}") if source.columns.get(c, "string") != "string" else F.col(c)

    wrong = [(text(c).isNotNull() & F.col(c).isNull(),
              F.concat(F.lit(f"wrong type in column {c}: expected {source.columns[c]}, got '"), text(c), F.lit("'")))
             for c in _typed_columns(source)]
    missing = [(text(c).isNull(), F.lit(f"missing required column {c}")) for c in source.required]
    return wrong + missing


def _unparsable(source: SourceConfig, columns: tuple[str, ...]) -> str:
    expected = (f"expected {len(columns)} fields with balanced quotes" if source.format == "csv"
                else "not a valid JSON object")
    return f"unparsable line: {expected}"


def _file_name() -> Column:
    """The name of the record's file, from Spark's file metadata (about a third of the cost of splitting the
    file URI: the two per-row columns made from it were a tenth of the bronze parse)."""
    # Spark percent-encodes the name; '+' is literal there but would decode to a space.
    return F.url_decode(F.replace(F.col("_metadata.file_name"), F.lit("+"), F.lit("%2B")))


def _source_file(files: list[LandingFile]) -> Column:
    """The landing-relative path of the record's file (as in the ingest log), from its name."""
    folders = {f.rel_path.rsplit("/", 1)[0] for f in files}
    if len(folders) != 1:
        raise InputDataError(f"one batch must come from one landing folder, got {sorted(folders)}")
    return F.concat(F.lit(folders.pop() + "/"), F.col(_NAME))
