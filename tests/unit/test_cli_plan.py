"""``sosw-core plan``: offline planning prints one JSON line per task; invalid jobs exit 2."""

from __future__ import annotations

import io
import json
from collections import Counter

from sosw_core.cli.main import main

VECTOR_4 = {"lambda_name": "some_lambda", "period": "last_2_days", "isolate_days": True,
            "isolate_sections": "True",
            "sections": {"111": {"all_campaigns": True}, "222": {"all_campaigns": True},
                         "333": {"isolate_stores": True, "all_campaigns": False,
                                 "stores": {"333-111": None, "333-222": None, "333-333": {"keep_me": 7}}}}}
PLAN = ["plan", "--chunkable", "section,store,product", "--as-of", "2019-01-31"]


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_vector_4_prints_ten_tasks(tmp_path, capsys):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(VECTOR_4))
    assert main([*PLAN, str(path)]) == 0
    tasks = lines(capsys.readouterr().out)
    assert len(tasks) == 10
    assert {t["labourer_id"] for t in tasks} == {"some_lambda"}
    payloads = [t["payload"] for t in tasks]
    assert Counter(tuple(p["date_list"]) for p in payloads) == {("2019-01-29",): 5, ("2019-01-30",): 5}
    assert all("period" not in p and "isolate_days" not in p for p in payloads)
    keep = [p for p in payloads if p.get("stores") == ["333-333"]]
    assert len(keep) == 2 and all(p["keep_me"] == 7 and p["all_campaigns"] is False for p in keep)


def test_stdin_and_config_file(tmp_path, capsys, monkeypatch):
    config = tmp_path / "scheduler.json"
    config.write_text(json.dumps({"scheduler": {"job_schema_variants": {
        "default": ["section", "store", "product"], "flat": ["item"]}}}))
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(VECTOR_4)))
    assert main(["plan", "-", "--as-of", "2019-01-31", "--config", str(config)]) == 0
    assert len(lines(capsys.readouterr().out)) == 10
    job = {"lambda_name": "w", "job_schema_name": "flat", "items": ["a", "b", "c"], "isolate_items": True}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(job)))
    assert main(["plan", "-", "--config", str(config)]) == 0
    assert [t["payload"]["items"] for t in lines(capsys.readouterr().out)] == [["a"], ["b"], ["c"]]


def test_simple_job_is_one_task(tmp_path, capsys):
    path = tmp_path / "job.json"
    path.write_text('{"lambda_name": "w", "some_payload": "foo"}')
    assert main(["plan", str(path)]) == 0
    assert lines(capsys.readouterr().out) == [{"labourer_id": "w", "payload": {"some_payload": "foo"}}]


def test_invalid_job_exits_2_with_the_path_on_stderr(tmp_path, capsys):
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"lambda_name": "w", "isolate_stores": True,
                                "sections": {"s1": {"stores": [{"a": 1}]}}}))
    assert main([*PLAN, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("sosw-core: ") and "s1" in captured.err


def test_malformed_and_missing_files_exit_2(tmp_path, capsys):
    path = tmp_path / "job.json"
    path.write_text("{not json")
    assert main([*PLAN, str(path)]) == 2
    assert capsys.readouterr().err.startswith("sosw-core: ")
    assert main([*PLAN, str(tmp_path / "absent.json")]) == 2
    assert "absent.json" in capsys.readouterr().err


def test_a_bad_config_file_names_the_key(tmp_path, capsys):
    config = tmp_path / "scheduler.json"
    config.write_text(json.dumps({"scheduler": {"job_schema_variants": {"default": "section"}}}))
    job = tmp_path / "job.json"
    job.write_text(json.dumps(VECTOR_4))
    assert main(["plan", str(job), "--config", str(config)]) == 1
    assert "scheduler.job_schema_variants" in capsys.readouterr().err
