from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from healthcode.accounts.sms import send_sms

received: list[tuple[str, str]] = []


class RecordingBackend:
    def send(self, to: str, text: str) -> None:
        received.append((to, text))


def test_it_prints_to_stdout_with_the_console_backend(
    settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console backend prints the recipient and the text to stdout."""
    settings.HEALTHCODE_SMS_BACKEND = "console"  # type: ignore[attr-defined]
    send_sms("13800138000", "【爱南宁健康码】您的登录验证码为 123456。")
    out = capsys.readouterr().out
    assert "13800138000" in out
    assert "【爱南宁健康码】您的登录验证码为 123456。" in out


def test_it_appends_one_json_line_per_message_with_the_file_backend(sms_file: Path) -> None:
    """The file backend appends {"to", "text", "sent_at"} lines with Chinese kept readable."""
    send_sms("13800138000", "验证码 111111")
    send_sms("13900139000", "验证码 222222")
    raw = sms_file.read_text(encoding="utf-8")
    assert "验证码" in raw  # ensure_ascii=False
    lines = [json.loads(line) for line in raw.splitlines()]
    assert [(m["to"], m["text"]) for m in lines] == [
        ("13800138000", "验证码 111111"),
        ("13900139000", "验证码 222222"),
    ]
    assert set(lines[0]) == {"to", "text", "sent_at"}
    assert datetime.fromisoformat(lines[0]["sent_at"]).tzinfo is not None


def test_it_creates_the_directory_of_the_sms_file(settings: object, tmp_path: Path) -> None:
    """The file backend creates a missing parent directory rather than failing."""
    path = tmp_path / "nested" / "dir" / "sms.jsonl"
    settings.HEALTHCODE_SMS_BACKEND = "file"  # type: ignore[attr-defined]
    settings.HEALTHCODE_SMS_FILE = str(path)  # type: ignore[attr-defined]
    send_sms("13800138000", "hello")
    assert json.loads(path.read_text(encoding="utf-8"))["to"] == "13800138000"


def test_it_keeps_lines_whole_when_threads_write_at_once(sms_file: Path) -> None:
    """Concurrent writers never interleave: every line is one complete JSON object."""
    text = "长" * 5000

    def writer(n: int) -> None:
        for _ in range(20):
            send_sms(f"1380013800{n}", text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = sms_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 100
    assert all(json.loads(line)["text"] == text for line in lines)


def test_it_reads_the_backend_setting_at_call_time(settings: object) -> None:
    """A dotted path names a class with send(to, text); the setting is read at each call."""
    received.clear()
    settings.HEALTHCODE_SMS_BACKEND = f"{__name__}.RecordingBackend"  # type: ignore[attr-defined]
    send_sms("13800138000", "hi")
    assert received == [("13800138000", "hi")]


@pytest.mark.parametrize("name", ["carrier-pigeon", "healthcode.accounts.nope.Backend"])
def test_it_rejects_an_unknown_backend(settings: object, name: str) -> None:
    """An unknown name or an unimportable path is a configuration error, not a silent drop."""
    settings.HEALTHCODE_SMS_BACKEND = name  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured):
        send_sms("13800138000", "hi")
