"""Benchmark of the bulk import of employees (添加员工, 批量导入): 10,000 rows end to end.

Sets up Django on a throw-away SQLite database in a temporary directory (its own secrets too),
migrates it, creates an approved enterprise with a manager and a few residents holding codes
(so that some rows link), generates a 10,000-row XLSX, and times, best of three:

- parsing alone (reading the XLSX and its cells): the baseline no import can beat;
- parsing + checking every row (one query for the codes of all phones, no writes);
- `import_employees` end to end (parse, check, bulk insert, audit), from XLSX and from CSV,
  each into a fresh enterprise.

Run alone (`python bench/import_employees.py`) or from bench/run.py, which records the figures.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = 10_000
LINKED = 100
REPEAT = 3
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉兰萍红娥玲芬燕"


def _setup_django(tmp: Path) -> None:
    """Django on a SQLite file in `tmp`, migrated. Refuses to run inside an already set-up
    Django (it would write into that database)."""
    import django
    from django.apps import apps

    if apps.ready:
        raise RuntimeError(
            "bench/import_employees.py needs a process of its own (Django is set up)"
        )
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["HEALTHCODE_VAR_DIR"] = str(tmp)
    os.environ["HEALTHCODE_TESTING"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "healthcode.settings"
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[i % len(GIVEN)]


def _rows() -> list[list[str]]:
    rows = []
    for i in range(ROWS):
        returned = i % 3 == 0
        rows.append(
            [
                _name(i),
                f"139{i:08d}",
                f"部门{i % 12 + 1}",
                "是" if returned else "否",
                "2020-02-24" if returned else "",
            ]
        )
    return rows


def _xlsx(rows: list[list[str]]) -> bytes:
    import xlsxwriter

    from healthcode.enterprises.imports import COLUMNS

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, [c.header for c in COLUMNS])
    for index, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value:
                sheet.write_string(index, col, value)
    workbook.close()
    return buffer.getvalue()


def _csv(rows: list[list[str]]) -> bytes:
    from healthcode.enterprises.imports import COLUMNS

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    writer.writerows(rows)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _world(rows: list[list[str]]) -> tuple[Any, list[Any]]:
    """A manager with REPEAT + 1 approved enterprises, and LINKED residents who declared codes
    with the phones and names of the first rows (those rows will link)."""
    from healthcode.codes import services as code_services
    from healthcode.enterprises.models import Enterprise, EnterpriseManager
    from healthcode.testing import credit_code, declaration, id_number, make_user

    manager = make_user("13800009999")
    enterprises = []
    for seq in range(1, 2 * REPEAT + 2):
        enterprise = Enterprise.objects.create(
            name=f"基准测试企业{seq}",
            credit_code=credit_code(seq),
            district_id="450103",
            industry="C",
            department="gxj",
            address="南宁市",
            contact_name="基准",
            contact_phone=manager.phone,
            status="approved",
            registered_by=manager,
        )
        EnterpriseManager.objects.create(enterprise=enterprise, user=manager, role="owner")
        enterprises.append(enterprise)
    for i in range(LINKED):
        name, phone = rows[i][0], rows[i][1]
        account = make_user(phone)
        code_services.declare(
            account=account,
            data=declaration(name=name, phone=phone, id_number=id_number(seq=i)),
        )
    return manager, enterprises


def _best(fn: Any, runs: int = REPEAT) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run() -> dict[str, float]:
    """Set up, measure, and return the figures (seconds, rows per second)."""
    with tempfile.TemporaryDirectory(prefix="healthcode-bench-") as tmp:
        _setup_django(Path(tmp))
        from django.core.files.uploadedfile import SimpleUploadedFile

        from healthcode.enterprises import imports
        from healthcode.enterprises.models import Employee

        rows = _rows()
        xlsx, csv_bytes = _xlsx(rows), _csv(rows)
        manager, enterprises = _world(rows)

        parse_s, parsed = _best(lambda: imports.parse_file("staff.xlsx", xlsx))
        assert len(parsed.rows) == ROWS
        parse_csv_s, _ = _best(lambda: imports.parse_file("staff.csv", csv_bytes))
        check_s, (drafts, bad) = _best(
            lambda: imports.check_rows(
                enterprise=enterprises[0], rows=imports.parse_file("staff.xlsx", xlsx).rows
            )
        )
        assert not bad and len(drafts) == ROWS, bad[:3]

        targets = iter(enterprises[1:])

        def import_from(content: bytes, name: str) -> Any:
            return imports.import_employees(
                actor=manager, enterprise=next(targets), file=SimpleUploadedFile(name, content)
            )

        import_s, result = _best(lambda: import_from(xlsx, "staff.xlsx"))
        assert result.imported == ROWS and result.linked == LINKED, result
        import_csv_s, result = _best(lambda: import_from(csv_bytes, "staff.csv"))
        assert result.imported == ROWS
        assert Employee.objects.count() == 2 * REPEAT * ROWS

        from django.db import connections

        connections.close_all()
    return {
        "rows": ROWS,
        "xlsx_bytes": len(xlsx),
        "parse_xlsx_s": parse_s,
        "parse_csv_s": parse_csv_s,
        "parse_and_check_xlsx_s": check_s,
        "import_xlsx_s": import_s,
        "import_csv_s": import_csv_s,
        "import_xlsx_rows_per_s": ROWS / import_s,
        "import_csv_rows_per_s": ROWS / import_csv_s,
        "parse_xlsx_rows_per_s": ROWS / parse_s,
    }


def print_table(figures: dict[str, float]) -> None:
    n = f"{figures['rows']:,}"
    print(
        f"{'employee import, ' + n + ' rows: parse XLSX (s)':<44}{figures['parse_xlsx_s']:>14.2f}"
    )
    print(f"{'  parse + check every row (s)':<44}{figures['parse_and_check_xlsx_s']:>14.2f}")
    print(f"{'  import end to end, XLSX (s)':<44}{figures['import_xlsx_s']:>14.2f}")
    print(f"{'  import end to end, XLSX rows/s':<44}{figures['import_xlsx_rows_per_s']:>14,.0f}")
    print(f"{'  import end to end, CSV (s)':<44}{figures['import_csv_s']:>14.2f}")
    print(f"{'  import end to end, CSV rows/s':<44}{figures['import_csv_rows_per_s']:>14,.0f}")


if __name__ == "__main__":
    print_table(run())
