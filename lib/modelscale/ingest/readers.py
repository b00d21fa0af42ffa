"""Read a batch of landing files with the declared schema and mark every malformed record.

The result has the source's columns typed as declared (plus new columns as strings when the
source allows schema evolution), ``_source_file``, ``_batch_date`` and, for a malformed record only,
``_raw_record`` (the record as it arrived) and ``_checks`` (what `reason` needs to say why).

CSV and JSON files are read as text lines, so the raw record is at hand for every record: a line, or
for a CSV file where a quoted field holds a line break, the lines of each RFC 4180 record joined
(`_joined_records`). CSV records are parsed straight to the declared types (Spark's CSV reader
semantics); JSON values are parsed as texts, then cast. Either way a wrong type names its column and
quotes its text. Parquet files carry their own types: a type that differs from the declared one fails
the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_type

from modelscale.config.models import SourceConfig
from modelscale.errors import InputDataError
from modelscale.ingest.landing import DATE_IN_NAME, LandingFile, Quoting, has_header
from modelscale.sql_text import ident, one_of, string
from modelscale.storage.files import filesystem

RAW = "_raw_record"
REASON = "_reason"  # on quarantined records, see `reason`
SOURCE_FILE = "_source_file"
CHECKS = "_checks"  # a bad record's corrupt-line marker and texts of its typed columns; null when good
BATCH_DATE = "_batch_date"
_CORRUPT = "_corrupt_record"
_NAME = "_file_name"
_BAD = "_bad"
_MISQUOTED = "_misquoted"  # a line that opens a quote no line closes rightly: see `_joined_records`
_UNPARSABLE = "unparsable"  # the message for a line that did not parse
# The name of the record's file, from Spark's file metadata (about a third of the cost of splitting the file
# URI: the two per-row columns made from it were a tenth of the bronze parse). Spark percent-encodes the name;
# '+' is literal there but would decode to a space.
_FILE_NAME = "url_decode(replace(_metadata.file_name, '+', '%2B'))"
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
    return out.selectExpr(*map(ident, [*source.columns, *extra, RAW, CHECKS, SOURCE_FILE, BATCH_DATE]))


def records_by_file(name: str, source: SourceConfig, files: list[LandingFile]) -> dict[str, int]:
    """The records in each of ``files`` (by landing-relative path), counted apart from the parse: the
    records counted when the file was fingerprinted (CSV, JSON lines), the rows in its footer (parquet)."""
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
        fs, path = filesystem(f.path)
        with fs.open_input_file(path) as source:
            return pq.read_metadata(source)
    except Exception as exc:  # pyarrow raises several types for a damaged footer
        raise InputDataError(f"source {name!r}: file {f.path} is not a readable parquet file: {exc}") from None


def _spark_type(type_name: str) -> str:
    """A declared type name as Spark spells it (``long`` is ``bigint``)."""
    return _ALIASES.get(type_name, type_name)


def _read_group(
    spark: SparkSession, source: SourceConfig, columns: tuple[str, ...], files: list[LandingFile]
) -> DataFrame:
    """Files sharing one column layout: parse, type and attach the reason and lineage columns.

    A record is bad when it did not parse, a value did not take its declared type or a required
    value is missing. Only for a bad record are its raw text and the texts its reason quotes kept (in
    CHECKS); the reason itself is built later, for quarantined records only: a projection that large
    would slow down the parse of every good record. The expressions are SQL text (`sql_text`): as Column
    objects, planning a year of flights took 1,700 driver-to-JVM round trips, about half a second.
    """
    paths = [f.path for f in files]
    if source.format == "parquet":
        parsed = spark.read.parquet(*paths).selectExpr(
            *[f"CAST({ident(c)} AS STRING) AS {ident(c)}" for c in columns],
            f"to_json(struct({', '.join(map(ident, columns))})) AS {RAW}",
            f"CAST(NULL AS STRING) AS {_CORRUPT}",
            f"{_FILE_NAME} AS {_NAME}",
        )
        typed, checks, bad = _typed_from_texts(source, columns, parsed)
    else:
        quoting = Quoting.of(source)
        # the records `landing.RecordLines` counts: not blank, not a header line
        headers = sorted({f.header_line for f in files if f.header_line is not None})
        lines = _records(spark, quoting, has_header(source), files).where(
            f"trim({RAW}) != '' AND NOT {one_of(RAW, headers)}")
        options = {k: str(v).lower() if isinstance(v, bool) else str(v)
                   for k, v in source.options.items() if k not in _FILE_OPTIONS}
        options |= {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}
        if quoting:  # the escape `landing.Quoting` splits records by: RFC 4180's "" unless declared
            options["escape"] = quoting.escape
        options_map = f"map({', '.join(string(x) for kv in options.items() for x in kv)})"
        # Each parse is a generator (one struct per line): a filter on the fields, such as `accepted`, stays
        # above it. In a projection, Spark would push that filter below and parse the line again for every
        # field it reads (a year of flights, uncached: 16 s instead of 1.5).
        if source.format == "csv":
            typed, checks, bad = _typed_csv(source, columns, lines, options_map)
        else:
            parsed = lines.selectExpr(RAW, _NAME, f"inline(array({_parse('from_json', columns, options_map)}))")
            typed, checks, bad = _typed_from_texts(source, columns, parsed)
    return typed.selectExpr("*", f"{bad} AS {_BAD}").selectExpr(
        *map(ident, columns),
        f"CASE WHEN {_BAD} THEN {RAW} END AS {RAW}",
        f"CASE WHEN {_BAD} THEN {checks} END AS {CHECKS}",
        f"{_source_file(files)} AS {SOURCE_FILE}",
        f"to_date(regexp_extract({_NAME}, {string(DATE_IN_NAME.pattern)}, 1)) AS {BATCH_DATE}",
    )


def _records(spark: SparkSession, quoting: Quoting | None, header: bool, files: list[LandingFile]) -> DataFrame:
    """The records of text files: the raw record, the file's name and whether it opens a quote that no line
    closes rightly. A file whose records are its lines (the usual case) is read as lines, at the cost it had before
    records could span lines; the others are joined by `_joined_records`."""
    by_line = [f.path for f in files if not f.multiline]
    joined = [f.path for f in files if f.multiline]
    frames = [spark.read.text(by_line).selectExpr(f"value AS {RAW}", f"{_FILE_NAME} AS {_NAME}",
                                                  f"FALSE AS {_MISQUOTED}")] if by_line else []
    if joined and quoting:  # only a quote makes a file `multiline`
        frames.append(_joined_records(spark, quoting, header, joined))
    return reduce(DataFrame.unionByName, frames)


def _joined_records(spark: SparkSession, quoting: Quoting, header: bool, paths: list[str]) -> DataFrame:
    """The records of files where some line ends inside quotes, as `landing.RecordLines` counts them.

    Each line is read with its line break (one inside a field is text of it) and its place in its file.
    Whether a line ends inside quotes depends only on whether it starts inside them, so each line answers
    for both (`Quoting.closed_regex`); then running counts over the file's lines, no loop, give each line's
    state: a line that answers alike for both sets it, one that ends inside when it starts outside and
    outside when it starts inside flips it, any other keeps it. A record is a line that starts outside
    quotes and the lines after it that start inside. A line that starts inside but closes that quote
    before other text than a separator (``"a<LF>b"c``, `Quoting.misclosed_regex`) is read as if it started
    outside, and starts a record. A record whose last line still ends inside quotes (its quote is closed by
    no line, or wrongly) is in doubt: its lines are given back as records, and those that open a quote are
    marked (`_MISQUOTED`), so no quote swallows the rest of its file.
    """
    order = f"PARTITION BY {_NAME} ORDER BY _block, _seq, _pos"
    running = f"OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    closed, misclosed = string(quoting.closed_regex), string(quoting.misclosed_regex)
    in_quotes = f"concat({string(quoting.quote)}, _line)"  # the line as read on from inside a quoted field
    ordinary = f"row_number() OVER ({order}) > 1" if header else "TRUE"  # a header line is a record of its own
    lines = (spark.read.text(paths, lineSep="\n")
             .selectExpr(f"{_FILE_NAME} AS {_NAME}", "_metadata.file_block_start AS _block",
                         "monotonically_increasing_id() AS _seq", "value")
             # lines end at \n (the last one maybe without), and at a \r not before one
             .selectExpr(_NAME, "_block", "_seq",
                         "posexplode(split(concat(value, '\\n'), '(?<=\\r)(?!\\n)')) AS (_pos, _line)")
             .selectExpr("*", f"{ordinary} AND NOT _line RLIKE {closed} AS _from_start",
                         f"{ordinary} AND {in_quotes} RLIKE {misclosed} AS _misclosed")
             .selectExpr("*", f"IF(_misclosed, _from_start, {ordinary} AND NOT {in_quotes} RLIKE {closed}) "
                              "AS _from_quote")
             .selectExpr("*", f"sum(int(_from_start AND NOT _from_quote)) {running} % 2 = 1 AS _flipped")
             .selectExpr("*", f"coalesce(last(IF(_from_start = _from_quote, _from_start != _flipped, NULL), TRUE) "
                              f"{running}, FALSE) != _flipped AS _open")
             .selectExpr("*", f"NOT coalesce(lag(_open) OVER ({order}), FALSE) OR _misclosed AS _starts")
             .selectExpr("*", f"sum(int(_starts)) {running} AS _record"))
    records = lines.groupBy(_NAME, "_record").agg(
        F.expr("array_sort(collect_list(struct(_block, _seq, _pos, _line, _from_start, _open))) AS _lines"))
    each_line = f"transform(_lines, l -> struct({_unbroken('l._line')} AS {RAW}, l._from_start AS {_MISQUOTED}))"
    text = _unbroken("array_join(_lines._line, '')")
    whole = f"array(struct({text} AS {RAW}, FALSE AS {_MISQUOTED}))"
    return records.selectExpr(_NAME, f"inline(IF(element_at(_lines, -1)._open, {each_line}, {whole}))")


def _unbroken(text: str) -> str:
    """``text`` without the line break that ends it (SQL): the break that ends a record is no text of it."""
    return f"TRIM(TRAILING '\\r\\n' FROM {text})"


def _parse(function: str, columns: tuple[str, ...], options_map: str, types: dict[str, str] | None = None) -> str:
    """``from_csv`` or ``from_json`` of the raw record into ``_ddl(columns, types)`` (SQL)."""
    return f"{function}({RAW}, {string(_ddl(columns, types))}, {options_map})"


def _ddl(columns: tuple[str, ...], types: dict[str, str] | None = None) -> str:
    """``from_csv``/``from_json`` schema: each column as typed in ``types`` (else STRING), then the corrupt record."""
    return ", ".join(f"{ident(c)} {(types or {}).get(c, 'STRING')}" for c in (*columns, _CORRUPT))


def _typed_csv(source: SourceConfig, columns: tuple[str, ...], lines: DataFrame,
               options_map: str) -> tuple[DataFrame, str, str]:
    """CSV records parsed straight to the declared types, as Spark's CSV reader does (about a third faster
    than texts then casts). A value that does not take its type marks the record corrupt; the texts the
    reason quotes come from a second, all-string parse that runs for bad records only. A misquoted record
    (`_joined_records`) is corrupt too, even where Spark's parser reads it (``1,"a`` as ``1`` and ``a``)."""
    typed = lines.selectExpr(RAW, _NAME, _MISQUOTED,
                             f"inline(array({_parse('from_csv', columns, options_map, source.columns)}))")
    texts = _parse("from_csv", columns, options_map)
    corrupt = f"CASE WHEN {_MISQUOTED} THEN {RAW} ELSE {texts}.{ident(_CORRUPT)} END"
    bad = " OR ".join([f"{_CORRUPT} IS NOT NULL", _MISQUOTED, *(f"{ident(c)} IS NULL" for c in source.required)])
    return typed, _checks(source, columns, lambda c: corrupt if c == _CORRUPT else f"{texts}.{ident(c)}"), bad


def _typed_from_texts(source: SourceConfig, columns: tuple[str, ...],
                      parsed: DataFrame) -> tuple[DataFrame, str, str]:
    """Texts (a JSON object's values, parquet values as strings) cast to the declared types, each column once;
    a value that does not cast, like a missing required one, makes the record bad."""
    typed_columns = _typed_columns(source)
    typed = parsed.selectExpr(
        *[f"try_cast({ident(c)} AS {source.columns[c]}) AS {ident(c)}" if c in typed_columns else ident(c)
          for c in columns],
        f"{_checks(source, columns, ident)} AS {CHECKS}",
        RAW, _NAME,
    )
    bad = " OR ".join([f"{CHECKS}.{_CORRUPT} IS NOT NULL", *(check for check, _ in _problems(source))])
    return typed, CHECKS, bad


def _typed_columns(source: SourceConfig) -> list[str]:
    """The declared columns of a type other than string: those a text can fail to take."""
    return [c for c, t in source.columns.items() if t != "string"]


def _checks(source: SourceConfig, columns: tuple[str, ...], text: Callable[[str], str]) -> str:
    """What `reason` reads (the CHECKS struct, SQL): the all-string parse's corrupt record, the unparsable-line
    message and the text of each typed column; ``text`` gives a field of that parse by name."""
    fields = [(_CORRUPT, text(_CORRUPT)), (_UNPARSABLE, string(_unparsable(source, columns))),
              *[(c, text(c)) for c in _typed_columns(source)]]
    return f"named_struct({', '.join(f'{string(name)}, {value}' for name, value in fields)})"


def is_bad() -> str:
    """True for a record to quarantine (SQL, on `read_batch`'s result)."""
    return f"{CHECKS} IS NOT NULL"


def reason(source: SourceConfig) -> str:
    """Why a bad record (on `read_batch`'s result) is quarantined (SQL): an unparsable line, else each
    wrong type and missing value, in the declared column order."""
    unparsable = f"CASE WHEN {CHECKS}.{_CORRUPT} IS NOT NULL THEN {CHECKS}.{_UNPARSABLE} END"
    problems = [f"CASE WHEN {check} THEN {message} END" for check, message in _problems(source)]
    return f"coalesce({unparsable}, nullif(concat_ws('; ', {', '.join(problems) or 'NULL'}), ''))"


def _problems(source: SourceConfig) -> list[tuple[str, str]]:
    """(check, message) as SQL for each way a parsed record can be bad: a text that does not cast to its
    declared type, a required value that is missing."""
    def text(c: str) -> str:
        return f"{CHECKS}.{ident(c)}" if source.columns.get(c, "string") != "string" else ident(c)

    def wrong(c: str) -> tuple[str, str]:
        said, quote = string(f"wrong type in column {c}: expected {source.columns[c]}, got '"), string("'")
        return f"{text(c)} IS NOT NULL AND {ident(c)} IS NULL", f"concat({said}, {text(c)}, {quote})"

    missing = [(f"{text(c)} IS NULL", string(f"missing required column {c}")) for c in source.required]
    return [wrong(c) for c in _typed_columns(source)] + missing


def _unparsable(source: SourceConfig, columns: tuple[str, ...]) -> str:
    expected = (f"expected {len(columns)} fields with balanced quotes" if source.format == "csv"
                else "not a valid JSON object")
    return f"unparsable line: {expected}"


def _source_file(files: list[LandingFile]) -> str:
    """The landing-relative path of the record's file (as in the ingest log), from its name (SQL)."""
    folders = {f.rel_path.rsplit("/", 1)[0] for f in files}
    if len(folders) != 1:
        raise InputDataError(f"one batch must come from one landing folder, got {sorted(folders)}")
    return f"concat({string(folders.pop() + '/')}, {_NAME})"
